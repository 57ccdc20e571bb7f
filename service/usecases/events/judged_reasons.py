"""The ``certainty`` and sequential-monitoring reasons of an overall cell's conclusion.

Unlike the headline detectors of :mod:`.conclusions` these need the evidence itself, so they
run only for the overall (all categories) cells whose headline a write changed:

- ``certainty``: the GRADE level of the default-specification answer before and after,
  assessed as the pooled answers are (:func:`.judgement.assessment.certainty_of`); computed
  only when a side is pooled (a narrative answer has no level);
- ``boundary_crossed`` / ``ris_reached``: the outcome's sequential monitoring
  (``GET /v1/outcomes/{outcome}/monitoring`` with its defaults) newly reached that status
  (:func:`.judgement.reasons.monitoring_change_reasons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service.db.repositories.judgement import JudgementRepository
from service.schemas.sequential import MonitoringQuery
from service.usecases.events.conclusions import Reason
from service.usecases.judgement.assessment import certainty_of
from service.usecases.judgement.monitoring import monitoring
from service.usecases.judgement.reasons import monitoring_change_reasons
from service.usecases.pooled.analysis import analyse_outcome
from service.usecases.pooled.effects import Effects
from service.usecases.pooled.spec import PooledSpec


def _level(session: Session, effects: Effects, spec: PooledSpec, version: int) -> str | None:
    terms = JudgementRepository(session).outcome_terms(spec.outcome)
    if terms is None:
        return None
    answer = analyse_outcome(effects, spec, version=version)
    certainty = certainty_of(session, answer, spec, terms)
    return certainty.level if certainty is not None else None


def certainty_reason(
    session: Session,
    spec: PooledSpec,
    version: int,
    effects: tuple[Effects, Effects],
    headlines: tuple[Mapping[str, Any], Mapping[str, Any]],
) -> Reason | None:
    """The GRADE level of the cell moved between ``version - 1`` and ``version``."""
    if not any(side.get("status") == "pooled" for side in headlines):
        return None
    before = _level(session, effects[0], spec, version - 1)
    after = _level(session, effects[1], spec, version)
    return None if before == after else Reason("certainty", before, after)


def monitoring_reasons(session: Session, outcome: str, version: int) -> list[Reason]:
    """``boundary_crossed`` / ``ris_reached`` when monitoring newly reached it at ``version``."""
    after = monitoring(session, outcome, MonitoringQuery(as_of=version))
    before = None
    if version > 1:
        before = monitoring(session, outcome, MonitoringQuery(as_of=version - 1))
    status_before = before.status if before is not None else None
    return [
        Reason(code, status_before, after.status)
        for code in monitoring_change_reasons(before, after)
    ]
