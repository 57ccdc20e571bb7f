"""The ``certainty`` and sequential-monitoring reasons of an overall cell's conclusion.

Unlike the headline detectors of :mod:`.conclusions` these need the evidence itself, so they
run only for the overall (all categories) cells whose headline a write changed:

- ``certainty``: the GRADE level of the default-specification answer before and after,
  assessed by the pooled answers' rules from the fit alone, as the summary table does
  (:class:`.judgement.cells.CellAssessor`); computed only when a side is pooled (a narrative
  answer has no level);
- ``boundary_crossed`` / ``ris_reached``: the outcome's sequential monitoring
  (``GET /v1/outcomes/{outcome}/monitoring`` with its defaults) newly reached that status
  (:func:`.judgement.reasons.monitoring_change_reasons`).

Each side is remembered by (outcome and specification, version number and instant) in the
process's :class:`.pooled.derived_memo.DerivedMemo`, so a write's "before" is usually the
previous write's "after", not a second computation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.db.repositories.evidence import EvidenceRepository
from service.schemas.sequential import MonitoringQuery
from service.usecases.events.conclusions import Reason
from service.usecases.judgement.cells import CellAssessor
from service.usecases.judgement.monitoring import monitoring
from service.usecases.judgement.reasons import monitoring_change_reasons
from service.usecases.pooled.derived_memo import DerivedMemo, derived_key
from service.usecases.pooled.effects import Effects
from service.usecases.pooled.spec import PooledSpec


@dataclass(frozen=True, slots=True)
class JudgedVersions:
    """The two versions a write's judged reasons compare, with the memo that spans writes.

    ``before`` is ``None`` for the first version (nothing before it); each side is a version's
    (number, created_at).
    """

    before: tuple[int, datetime] | None
    after: tuple[int, datetime]
    memo: DerivedMemo

    @classmethod
    def of_write(
        cls, session: Session, number: int, created_at: datetime, memo: DerivedMemo
    ) -> JudgedVersions:
        earlier = EvidenceRepository(session).created_at(number - 1) if number > 1 else None
        before = (number - 1, earlier) if earlier is not None else None
        return cls(before, (number, created_at), memo)

    def remembered(
        self,
        kind: str,
        spec: PooledSpec,
        side: tuple[int, datetime],
        compute: Callable[[], str | None],
    ) -> str | None:
        """``compute()`` for one side, or what an earlier write computed for that version."""
        key = derived_key(kind, spec.canonical(), *side)
        known = self.memo.get(key)
        if known is not None:
            return known[0]
        value = compute()
        self.memo.put(key, value)
        return value


def certainty_level_at(
    session: Session, effects: Effects, spec: PooledSpec, version: int
) -> str | None:
    """The GRADE level of ``effects`` at ``version``, as its pooled answer would have it."""
    certainty = CellAssessor(session).headline(effects, spec, version)["certainty"]
    return certainty.level if certainty is not None else None


def certainty_reason(
    session: Session,
    spec: PooledSpec,
    versions: JudgedVersions,
    effects: tuple[Effects, Effects],
    headlines: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> Reason | None:
    """The GRADE level of the cell moved between the two versions."""
    if not any(side.get("status") == "pooled" for side in headlines):
        return None
    before = None
    if versions.before is not None:
        earlier = versions.before
        before = versions.remembered(
            "certainty",
            spec,
            earlier,
            lambda: certainty_level_at(session, effects[0], spec, earlier[0]),
        )
    later = versions.after
    after = versions.remembered(
        "certainty", spec, later, lambda: certainty_level_at(session, effects[1], spec, later[0])
    )
    return None if before == after else Reason("certainty", before, after)


def _status(session: Session, outcome: str, version: int) -> str:
    return monitoring(session, outcome, MonitoringQuery(as_of=version)).status


def monitoring_reasons(
    session: Session, spec: PooledSpec, versions: JudgedVersions
) -> list[Reason]:
    """``boundary_crossed`` / ``ris_reached`` when monitoring newly reached it at the write."""
    outcome = spec.outcome
    later = versions.after
    after = versions.remembered(
        "monitoring", spec, later, lambda: _status(session, outcome, later[0])
    )
    before = None
    if versions.before is not None:
        earlier = versions.before
        before = versions.remembered(
            "monitoring", spec, earlier, lambda: _status(session, outcome, earlier[0])
        )
    assert after is not None  # monitoring always has a status
    return [Reason(code, before, after) for code in monitoring_change_reasons(before, after)]
