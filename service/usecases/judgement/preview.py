"""What-if previews: what new studies, or including a pending one, would change; nothing kept.

``POST /v1/studies/preview`` runs the very write a trusted key makes (validation, duplicates,
effect sizes, the new version, ``pooled_changes``), and the curation queue's preview of a
stored pending study runs the very include a curator makes; either inside a SAVEPOINT that is
always rolled back, so a preview cannot drift from what the write would do (the write only
records; its conclusions-outbox row goes with the rollback). For every outcome
the write touches, each cell (all categories, and each category) is analysed before and after,
with its certainty and statement, and :func:`.reasons.conclusion_change_reasons` says whether
the conclusion would change. The evidence lock is held from the start, so no write can slip in
between "before" and "after". Each analysis is priced against the request's compute budget as
``GET /v1/outcomes/{outcome}/pooled`` prices it, and the whole preview runs under its deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from service.db.repositories.pooled import PooledRepository
from service.schemas.certainty import PreviewCellRead, PreviewRead, PreviewSideRead
from service.schemas.pooled import PooledRead
from service.schemas.pooled_summary import PooledChangeRead, PooledSummaryRead
from service.schemas.studies import StudyCreate
from service.usecases.analyses.cost import (
    UNLIMITED,
    ComputeBudget,
    check_cost,
    stopped_at_deadline,
)
from service.usecases.judgement.assessment import with_assessment
from service.usecases.judgement.reasons import conclusion_change_reasons
from service.usecases.pooled.analysis import analyse_outcome, section_names, summary_of
from service.usecases.pooled.changes import pooled_changes
from service.usecases.pooled.effects import SelectionMemo, effects_at
from service.usecases.pooled.spec import PooledSpec, PooledVocabulary
from service.usecases.studies import curation
from service.usecases.studies import service as studies
from service.usecases.studies.evidence import WriteContext, lock_evidence

Write = Callable[[], tuple[int, list[PooledChangeRead]]]
"""Makes the previewed change in the open savepoint: its version and its pooled_changes."""


class _Analyst:
    """Analyses cells before and after the write, each priced, all under one deadline."""

    def __init__(self, session: Session, budget: ComputeBudget) -> None:
        self._session = session
        self._budget = budget
        self._deadline = budget.deadline()

    def answer(self, spec: PooledSpec, version: int, *, committed: bool) -> PooledRead:
        effects = effects_at(
            self._session, spec, version, memo=SelectionMemo(), min_rank=None, committed=committed
        )
        check_cost(len(effects), section_names(spec, len(effects)), self._budget)
        answer = analyse_outcome(effects, spec, version=version, deadline=self._deadline)
        return with_assessment(self._session, answer, spec)

    def cell(self, spec: PooledSpec, version: int) -> PreviewCellRead:
        before = self.answer(spec, version - 1, committed=True)
        after = self.answer(spec, version, committed=False)
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


def _side(answer: PooledRead) -> PreviewSideRead:
    return PreviewSideRead(
        summary=PooledSummaryRead.model_validate(summary_of(answer)),
        certainty=answer.certainty,
        statement=answer.statement,
    )


def _changes(session: Session, outcomes: Sequence[str], version: int) -> list[PooledChangeRead]:
    return pooled_changes(session, outcomes, version=version)


def _preview(session: Session, write: Write, budget: ComputeBudget) -> PreviewRead:
    """Run ``write`` in a savepoint, analyse every cell it touches, roll everything back."""
    lock_evidence(session)
    categories = PooledVocabulary.from_terms(PooledRepository(session).vocabulary()).categories
    analyst = _Analyst(session, budget)
    savepoint = session.begin_nested()
    try:
        with stopped_at_deadline(budget):
            version, changes = write()
            cells = [
                analyst.cell(PooledSpec(outcome=change.outcome, category=category), version)
                for change in changes
                for category in (None, *categories)
            ]
    finally:
        savepoint.rollback()
    return PreviewRead(evidence_version=version, pooled_changes=changes, cells=cells)


def preview_studies(
    session: Session,
    bodies: Sequence[StudyCreate],
    context: WriteContext,
    *,
    batch: bool,
    budget: ComputeBudget = UNLIMITED,
) -> PreviewRead:
    """The pooled results as if ``bodies`` were written and included; nothing is kept."""
    trusted = context.as_preview()  # as a trusted key's write

    def write() -> tuple[int, list[PooledChangeRead]]:
        if batch:
            many = studies.create_studies(session, bodies, trusted)
            return many.evidence_version, _changes(session, many.outcomes, many.evidence_version)
        one = studies.create_study(session, bodies[0], trusted)
        return one.evidence_version, _changes(session, one.outcomes, one.evidence_version)

    return _preview(session, write, budget)


def preview_inclusion(
    session: Session, study_id: int, context: WriteContext, *, budget: ComputeBudget = UNLIMITED
) -> PreviewRead:
    """The pooled results as if the stored study ``study_id`` were included; nothing is kept.

    Through :func:`.curation.include_study` itself, so ``context`` must be allowed to curate
    (403 otherwise) and an unknown study is a 404. A study that is included already changes
    nothing: no cells.
    """

    def write() -> tuple[int, list[PooledChangeRead]]:
        # A reason, so that an error-level data warning does not refuse the what-if.
        included = curation.include_study(session, study_id, context, reason="what-if preview")
        if not included.changed:
            return included.evidence_version, []
        version = included.evidence_version
        return version, _changes(session, included.outcomes, version)

    return _preview(session, write, budget)
