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
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from service.db.repositories.evidence import EvidenceRepository
from service.db.repositories.pooled import PooledRepository
from service.schemas.sequential import MonitoringQuery
from service.usecases.events.conclusions import Reason
from service.usecases.judgement.cells import CellAssessor
from service.usecases.judgement.monitoring import (
    cumulative_analyses,
    monitoring,
    monitoring_context,
    monitoring_of,
    stored_analyses,
)
from service.usecases.judgement.reasons import monitoring_change_reasons
from service.usecases.pooled.cumulative import CumulativeAnalysis, analysis_at
from service.usecases.pooled.derived_memo import DerivedMemo, derived_key
from service.usecases.pooled.effects import Effects, SelectionMemo
from service.usecases.pooled.spec import PooledSpec, PooledVocabulary

Looks = tuple[CumulativeAnalysis, ...]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JudgedVersions:
    """The two versions a write's judged reasons compare, with the memo that spans writes.

    ``before`` is ``None`` for the first version (nothing before it); each side is a version's
    (number, created_at).
    """

    before: tuple[int, datetime] | None
    after: tuple[int, datetime]
    memo: DerivedMemo[str | None]
    looks: DerivedMemo[Looks]

    @classmethod
    def of_write(
        cls, session: Session, number: int, created_at: datetime, memo: SelectionMemo
    ) -> JudgedVersions:
        earlier = EvidenceRepository(session).created_at(number - 1) if number > 1 else None
        before = (number - 1, earlier) if earlier is not None else None
        return cls(before, (number, created_at), memo.derived, memo.looks)

    def remembered(
        self,
        kind: str,
        spec: PooledSpec,
        side: tuple[int, datetime],
        compute: Callable[[], str | None],
        *,
        session: Session | None = None,
    ) -> str | None:
        """``compute()`` for one side, or what an earlier write computed for that version
        (or, given ``session``, for an earlier version when none since changed the outcome's
        evidence or judgements)."""
        key = derived_key(kind, spec.canonical(), *side)
        known = self.memo.get(key)
        if known is None and session is not None:
            known = _unchanged_since(session, self.memo, kind, spec, side)
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
            session=session,
        )
    later = versions.after
    after = versions.remembered(
        "certainty", spec, later, lambda: certainty_level_at(session, effects[1], spec, later[0])
    )
    return None if before == after else Reason("certainty", before, after)


def _looks_before(
    session: Session, spec: PooledSpec, versions: JudgedVersions
) -> tuple[CumulativeAnalysis, ...]:
    """The cumulative analyses up to the write's "before" version: remembered, or selected."""
    if versions.before is None:
        return ()
    key = derived_key("looks", spec.canonical(), *versions.before)
    known = versions.looks.get(key) or _unchanged_since(
        session, versions.looks, "looks", spec, versions.before
    )
    if known is not None:
        return known[0]
    stored = _stored_before(session, spec, versions.before[0])
    if stored is not None:
        versions.looks.put(key, stored)
        return stored
    vocabulary = PooledVocabulary.from_terms(PooledRepository(session).vocabulary())
    analyses = tuple(cumulative_analyses(session, spec, versions.before[0], vocabulary)[0])
    versions.looks.put(key, analyses)
    return analyses


def _stored_before(session: Session, spec: PooledSpec, before: int) -> Looks | None:
    """The looks up to ``before`` that the conclusions worker stored, when complete.

    Another process (a second API worker, an ``lma worker``, this one restarted) may have
    concluded the version before this one, so this process's memo lacks its looks; selecting
    every version again took ~3 s at 10,000 studies, reading them one indexed query.
    Only the default specification's looks are stored (monitoring's default).
    """
    if spec != PooledSpec(outcome=spec.outcome):
        return None
    stored = stored_analyses(session, spec.outcome, before)
    return tuple(stored) if stored is not None else None


def _unchanged_since(
    session: Session,
    memo: DerivedMemo[T],
    kind: str,
    spec: PooledSpec,
    side: tuple[int, datetime],
) -> tuple[T] | None:
    """The newest remembered ``kind`` of ``spec`` at or before ``side``, when no version
    since changed its outcome.

    A write to another outcome leaves this one's looks, level and status as they were, so
    what the last write that moved it derived still holds (the version must be the same
    one: number and instant). A certainty judgement counts as a change here, which only
    costs a fresh computation.
    """
    found = memo.newest(kind, spec.canonical(), up_to=side[0])
    if found is None:
        return None
    (_, _, number, created_at), value = found
    if EvidenceRepository(session).created_at(number) != created_at:
        return None
    changes = PooledRepository(session).included_changes(after=number, up_to=side[0])
    return None if any(o == spec.outcome for o, _ in changes) else (value,)


def carry_looks_forward(
    spec: PooledSpec, versions: JudgedVersions, after: Effects, *, changed: bool
) -> None:
    """Remember the looks at a write whose headline did not move, for the next write.

    Only when the looks before it are remembered (nothing is selected for this). A version
    that opened or closed an included revision of the outcome (``changed``) is a cumulative
    analysis of its own even when the default headline stayed (another design or
    timepoint moved), as :func:`.judgement.monitoring.cumulative_analyses` counts it.
    """
    if versions.before is None:
        known: Looks = ()
    else:
        remembered = versions.looks.get(derived_key("looks", spec.canonical(), *versions.before))
        if remembered is None:
            return
        known = remembered[0]
    looks = (*known, analysis_at(versions.after[0], after)) if changed else known
    versions.looks.put(derived_key("looks", spec.canonical(), *versions.after), looks)


def _status(
    session: Session,
    spec: PooledSpec,
    side: tuple[int, datetime],
    analyses: Looks,
    effects: Effects,
) -> str:
    """The monitoring status at ``side`` (``GET .../monitoring`` with its defaults)."""
    query = MonitoringQuery(as_of=side[0])
    context = monitoring_context(session, spec.outcome, query)
    if context.spec != spec:  # monitoring's default is the events' one; if not, select anew
        return monitoring(session, spec.outcome, query).status
    return monitoring_of(context, analyses, effects).status


def monitoring_reasons(
    session: Session,
    spec: PooledSpec,
    versions: JudgedVersions,
    effects: tuple[Effects, Effects],
) -> list[Reason]:
    """``boundary_crossed`` / ``ris_reached`` when monitoring newly reached it at the write.

    Called only when the write moved the cell's headline, so the write's version changed the
    included evidence and is one more cumulative analysis: the "after" list is the "before"
    list plus one fit, not a selection of every version again (a write at 10,000 studies
    and a few hundred versions took seconds that way).
    """
    before_looks = _looks_before(session, spec, versions)
    later = versions.after
    after_looks = (*before_looks, analysis_at(later[0], effects[1]))
    versions.looks.put(derived_key("looks", spec.canonical(), *later), after_looks)
    after = versions.remembered(
        "monitoring", spec, later, lambda: _status(session, spec, later, after_looks, effects[1])
    )
    before = None
    if versions.before is not None:
        earlier = versions.before
        before = versions.remembered(
            "monitoring",
            spec,
            earlier,
            lambda: _status(session, spec, earlier, before_looks, effects[0]),
            session=session,
        )
    assert after is not None  # monitoring always has a status
    return [Reason(code, before, after) for code in monitoring_change_reasons(before, after)]
