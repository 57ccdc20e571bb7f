"""What a write did to the pooled results: the default-specification result before and after.

Called by the write use cases inside their transaction, once the new version's rows are
flushed: "before" is the evidence as of the previous version, "after" as of the new one
(visible to this transaction only). Nothing of the new version is remembered: it is not
committed yet, and its number would be reused if the transaction rolled back.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from service.schemas.pooled_summary import PooledChangeRead, PooledSnapshotRead
from service.usecases.pooled.analysis import headline
from service.usecases.pooled.effects import SelectionMemo, effects_at
from service.usecases.pooled.spec import PooledSpec


def pooled_changes(
    session: Session,
    outcomes: Collection[str],
    *,
    version: int,
    selections: SelectionMemo | None = None,
) -> list[PooledChangeRead]:
    """For each outcome, the default-spec result at ``version - 1`` and at ``version``.

    The "before" effects come from ``selections`` when it holds them (or a recent version),
    and the "after" effects from "before" and the studies this write changed: a write costs a
    delta and two fits, not two reloads of the outcome's evidence.
    """
    memo = selections if selections is not None else SelectionMemo()
    changes = []
    for outcome in sorted(outcomes):
        spec = PooledSpec(outcome=outcome)  # the review's method: every default
        before = effects_at(session, spec, version - 1, memo=memo, min_rank=None)
        after = effects_at(session, spec, version, memo=memo, min_rank=None, committed=False)
        changes.append(
            PooledChangeRead(
                outcome=outcome,
                before=PooledSnapshotRead(evidence_version=version - 1, **headline(before, spec)),
                after=PooledSnapshotRead(evidence_version=version, **headline(after, spec)),
            )
        )
    return changes
