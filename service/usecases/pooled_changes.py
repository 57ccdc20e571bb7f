"""What a write did to the pooled results: the default-specification result before and after.

Called by the write use cases inside their transaction, once the new version's rows are
flushed: "before" is the evidence as of the previous version, "after" as of the new one
(visible to this transaction only). Nothing here touches the result cache: the new version
is not committed yet, and its number would be reused if the transaction rolled back.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from service.db.repositories.pooled import EvidenceRow, PooledRepository
from service.schemas.pooled_summary import PooledChangeRead, PooledSnapshotRead
from service.usecases.pooled_analysis import analyse_outcome, summary_of
from service.usecases.pooled_selection import select_effects
from service.usecases.pooled_spec import PooledSpec


def pooled_changes(
    session: Session, outcomes: Collection[str], *, version: int
) -> list[PooledChangeRead]:
    """For each outcome, the default-spec result at ``version - 1`` and at ``version``."""
    if not outcomes:
        return []
    repository = PooledRepository(session)
    ordered = sorted(outcomes)
    before = repository.evidence(ordered, at_version=version - 1)
    after = repository.evidence(ordered, at_version=version)
    return [
        PooledChangeRead(
            outcome=outcome,
            before=_snapshot(before, outcome, version - 1),
            after=_snapshot(after, outcome, version),
        )
        for outcome in ordered
    ]


def _snapshot(rows: list[EvidenceRow], outcome: str, version: int) -> PooledSnapshotRead:
    spec = PooledSpec(outcome=outcome)  # the review's method: every default
    effects = select_effects(rows, spec, min_rank=None)
    answer = analyse_outcome(effects, spec, version=version, sections=False)
    return PooledSnapshotRead(evidence_version=version, **summary_of(answer))
