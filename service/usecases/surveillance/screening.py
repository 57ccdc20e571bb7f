"""A curator screens a candidate: include, exclude (with a reason from a list) or maybe.

Screening is always a person's decision: the service never excludes a candidate by itself
(duplicates are marked, not removed, and may be screened too). ``include`` writes a pending
study through the studies' normal write path (:func:`~service.usecases.studies.service.
create_study`: validation, the duplicate check, the evidence version, ``study.submitted``),
from the study body the curator sends or, when it is a complete study, the draft the source
prefilled (a CT.gov results section, say). A record too thin for a study (a PubMed abstract)
is included without one and awaits data extraction. The study starts ``pending`` even for a
curator: the curator's second look (``POST /v1/studies/{id}/include``) puts it in the pooled
evidence, as for any submitted study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import Candidate
from service.db.repositories.surveillance import SurveillanceRepository
from service.errors import ConflictError, InvalidInputError, NotFoundError
from service.schemas.studies import StudyCreate
from service.schemas.surveillance import ScreeningCreate
from service.usecases.studies.evidence import WriteContext
from service.usecases.studies.service import create_study


@dataclass(frozen=True, slots=True)
class Screened:
    candidate: Candidate
    evidence_version: int | None


def get_candidate(session: Session, candidate_id: int, *, lock: bool = False) -> Candidate:
    candidate = SurveillanceRepository(session).candidate(candidate_id, lock=lock)
    if candidate is None:
        raise NotFoundError(f"No candidate {candidate_id}.")
    return candidate


def list_candidates(
    session: Session, decisions: Sequence[str] | None, *, limit: int, offset: int = 0
) -> Sequence[Candidate]:
    """The queue, most relevant first."""
    return SurveillanceRepository(session).candidates(
        decisions=decisions, limit=limit, offset=offset
    )


def screen(
    session: Session, candidate_id: int, body: ScreeningCreate, context: WriteContext
) -> Screened:
    """Record the decision (rules in the module docstring); one transaction."""
    candidate = get_candidate(session, candidate_id, lock=True)
    if candidate.decision == "include":
        raise ConflictError(
            f"Candidate {candidate_id} is included already"
            + (f" as study {candidate.study_id}." if candidate.study_id else ".")
        )
    if body.decision == "exclude" and body.reason is None:
        raise InvalidInputError(
            "An exclusion needs a reason.",
            errors=[{"field": "reason", "message": "required with exclude", "type": "missing"}],
        )
    version = None
    if body.decision == "include":
        study = body.study or _complete_draft(candidate)
        if study is not None:
            pending = replace(context, may_curate=False, trusted=False)
            result = create_study(session, study, pending)
            candidate.study_id, version = result.study.id, result.evidence_version
    candidate.decision = body.decision
    candidate.exclusion_reason = body.reason if body.decision == "exclude" else None
    candidate.note = body.note if body.note is not None else candidate.note
    candidate.screened_by, candidate.screened_at = context.actor[:200], utc_now()
    SurveillanceRepository(session).touch()  # the ongoing trials may have changed: see .answers
    session.flush()
    return Screened(candidate, version)


def _complete_draft(candidate: Candidate) -> StudyCreate | None:
    """The source's draft when it is a whole study (else ``None``: data extraction needed)."""
    if candidate.draft is None:
        return None
    try:
        return StudyCreate.model_validate(candidate.draft)
    except ValidationError:
        return None
