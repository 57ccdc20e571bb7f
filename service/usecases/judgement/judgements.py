"""Curators' certainty judgements: each one a write with its evidence version and audit entry.

A judgement of (outcome, category, domain) closes the one before it (``valid_to`` = the new
version), so ``as_of`` answers show the judgements as they were. The new version touches the
outcome, so its pooled answers (cached by version) are computed afresh with the judgement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import CertaintyJudgement
from service.db.repositories.evidence import AuditRepository, EvidenceRepository
from service.db.repositories.judgement import JudgementRepository
from service.db.repositories.pooled import PooledRepository
from service.errors import InvalidInputError
from service.schemas.certainty import (
    JudgementCreate,
    JudgementListRead,
    JudgementRead,
    JudgementWriteRead,
)
from service.usecases.pooled.spec import PooledVocabulary
from service.usecases.studies.evidence import WriteContext, lock_evidence, open_version


def _check_cell(session: Session, outcome: str, category: str | None) -> None:
    """404 for an unknown outcome; 422 naming ``category`` when it is unknown."""
    vocabulary = PooledVocabulary.from_terms(PooledRepository(session).vocabulary())
    vocabulary.check_outcome(outcome)
    if category is not None and category not in vocabulary.categories:
        raise InvalidInputError(
            f"There is no category '{category}'.",
            errors=[{"field": "category", "message": f"unknown category '{category}'"}],
        )


def _audit(
    version: Any, action: str, after: JudgementRead, before: JudgementRead | None
) -> dict[str, Any]:
    return {
        "version_number": version.number,
        "created_at": version.created_at,
        "actor": version.actor,
        "action": action,
        "resource_type": "judgement",
        "resource_id": after.id,
        "request_id": version.request_id,
        "before": before.model_dump(mode="json") if before else None,
        "after": after.model_dump(mode="json"),
    }


def record_judgement(
    session: Session, outcome: str, body: JudgementCreate, context: WriteContext
) -> JudgementWriteRead:
    """Store a curator's judgement in a new evidence version (curate scope: the router's)."""
    _check_cell(session, outcome, body.category)
    lock_evidence(session)
    version = open_version(session, context, "judgement")
    repository = JudgementRepository(session)
    closed = repository.close(outcome, body.category, body.domain, version.number)
    before = session.get(CertaintyJudgement, closed) if closed is not None else None
    replaced = JudgementRead.model_validate(before) if before is not None else None
    row = repository.add(
        CertaintyJudgement(
            outcome_slug=outcome, category_slug=body.category, domain=body.domain,
            downgrade=body.downgrade, reason=body.reason, actor=context.actor,
            created_at=utc_now(), valid_from=version.number, valid_to=None,
        )
    )  # fmt: skip
    judgement = JudgementRead.model_validate(row)
    cell = body.category or "all categories"
    version.summary = (
        f"Judged {body.domain} of {outcome} ({cell}): downgrade {body.downgrade}: {body.reason}"
    )[:500]
    EvidenceRepository(session).insert_changes(
        [], [{"version_number": version.number, "outcome_slug": outcome}]
    )
    AuditRepository(session).insert_all([_audit(version, "judge", judgement, replaced)])
    return JudgementWriteRead(
        evidence_version=version.number, judgement=judgement, replaced=replaced
    )


def list_judgements(session: Session, outcome: str, category: str | None) -> JudgementListRead:
    """Every judgement of one outcome and category (its whole history)."""
    _check_cell(session, outcome, category)
    rows = JudgementRepository(session).history(outcome, category)
    return JudgementListRead(items=[JudgementRead.model_validate(r) for r in rows])
