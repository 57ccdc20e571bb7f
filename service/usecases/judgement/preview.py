"""``POST /v1/studies/preview``: what new studies would change, with nothing stored.

The studies go through the very write a trusted key makes (validation, duplicates, effect
sizes, the new version, ``pooled_changes``) inside a SAVEPOINT that is always rolled back, so
the preview cannot drift from what the write would do; it records no events
(:meth:`WriteContext.as_preview`), which the rollback would discard anyway. For every
outcome the studies touch, each cell (all categories, and each category) is analysed before
and after, with its certainty and statement, and :func:`.reasons.conclusion_change_reasons`
says whether the conclusion would change. The evidence lock is held from the start, so no
write can slip in between "before" and "after".
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.db.repositories.pooled import PooledRepository
from service.schemas.certainty import PreviewCellRead, PreviewRead, PreviewSideRead
from service.schemas.pooled import PooledRead
from service.schemas.pooled_summary import PooledChangeRead, PooledSummaryRead
from service.schemas.studies import StudyCreate
from service.usecases.judgement.assessment import with_assessment
from service.usecases.judgement.reasons import conclusion_change_reasons
from service.usecases.pooled.analysis import analyse_outcome, summary_of
from service.usecases.pooled.effects import SelectionMemo, effects_at
from service.usecases.pooled.spec import PooledSpec, PooledVocabulary
from service.usecases.studies import service as studies
from service.usecases.studies.evidence import WriteContext, lock_evidence


def _side(answer: PooledRead) -> PreviewSideRead:
    return PreviewSideRead(
        summary=PooledSummaryRead.model_validate(summary_of(answer)),
        certainty=answer.certainty,
        statement=answer.statement,
    )


def _answer(session: Session, spec: PooledSpec, version: int, *, committed: bool) -> PooledRead:
    effects = effects_at(
        session, spec, version, memo=SelectionMemo(), min_rank=None, committed=committed
    )
    return with_assessment(session, analyse_outcome(effects, spec, version=version), spec)


def _cell(session: Session, spec: PooledSpec, version: int) -> PreviewCellRead:
    before = _answer(session, spec, version - 1, committed=True)
    after = _answer(session, spec, version, committed=False)
    reasons = conclusion_change_reasons(
        PooledSummaryRead.model_validate(summary_of(before)),
        PooledSummaryRead.model_validate(summary_of(after)),
        certainty=(before.certainty, after.certainty),
        statement=(before.statement, after.statement),
    )
    return PreviewCellRead(
        outcome=spec.outcome,
        category=spec.category,
        before=_side(before),
        after=_side(after),
        conclusion_changed=bool(reasons),
        reasons=reasons,
    )


def _write(
    session: Session, bodies: Sequence[StudyCreate], context: WriteContext, *, batch: bool
) -> tuple[int, list[PooledChangeRead]]:
    if batch:
        many = studies.create_studies(session, bodies, context)
        return many.evidence_version, list(many.pooled_changes)
    one = studies.create_study(session, bodies[0], context)
    return one.evidence_version, list(one.pooled_changes)


def preview_studies(
    session: Session, bodies: Sequence[StudyCreate], context: WriteContext, *, batch: bool
) -> PreviewRead:
    """The pooled results as if ``bodies`` were written and included; nothing is kept."""
    lock_evidence(session)
    categories = PooledVocabulary.from_terms(PooledRepository(session).vocabulary()).categories
    savepoint = session.begin_nested()
    try:
        version, changes = _write(session, bodies, context.as_preview(), batch=batch)
        cells = [
            _cell(session, PooledSpec(outcome=change.outcome, category=category), version)
            for change in changes
            for category in (None, *categories)
        ]
    finally:
        savepoint.rollback()
    return PreviewRead(evidence_version=version, pooled_changes=changes, cells=cells)
