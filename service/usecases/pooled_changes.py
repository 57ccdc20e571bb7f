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
from service.usecases.pooled_analysis import headline
from service.usecases.pooled_selection import select_effects, valid_at
from service.usecases.pooled_spec import PooledSpec


def pooled_changes(
    session: Session, outcomes: Collection[str], *, version: int
) -> list[PooledChangeRead]:
    """For each outcome, the default-spec result at ``version - 1`` and at ``version``."""
    if not outcomes:
        return []
    ordered = sorted(outcomes)
    rows = PooledRepository(session).evidence(ordered, at_versions=[version - 1, version])
    before, after = valid_at(rows, version - 1), valid_at(rows, version)
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
    return PooledSnapshotRead(evidence_version=version, **headline(effects, spec))
