"""What a version did to the pooled results: the default-specification result before and after.

Computed by the conclusions worker after commit, by ``GET /v1/versions/{n}/changes`` on demand
(both from committed versions), and inside a write's transaction when its caller asks for
them inline (``?include=pooled_changes``): "after" is then the new version, visible to that
transaction only, and nothing of it is remembered (its number would be reused if the
transaction rolled back).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.orm import Session

from service.db.repositories.conclusions import ConclusionRepository
from service.db.repositories.evidence import EvidenceRepository
from service.errors import NotFoundError
from service.schemas.pooled_summary import PooledChangeRead, PooledSnapshotRead
from service.schemas.studies import StudyCreate
from service.schemas.versions import VersionChangesRead
from service.usecases.pooled.analysis import headline
from service.usecases.pooled.effects import Effects, SelectionMemo, effects_at
from service.usecases.pooled.spec import PooledSpec
from service.usecases.studies import service as studies
from service.usecases.studies.evidence import WriteContext, lock_evidence


def pooled_changes(
    session: Session,
    outcomes: Collection[str],
    *,
    version: int,
    selections: SelectionMemo | None = None,
    committed: bool = False,
) -> list[PooledChangeRead]:
    """For each outcome, the default-spec result at ``version - 1`` and at ``version``.

    The "before" effects come from ``selections`` when it holds them (or a recent version),
    and the "after" effects from "before" and the studies this write changed: a write costs a
    delta and two fits, not two reloads of the outcome's evidence. ``committed``: whether
    ``version`` is committed (then its effects are remembered too).
    """
    memo = selections if selections is not None else SelectionMemo()
    changes = []
    for outcome in sorted(outcomes):
        spec = PooledSpec(outcome=outcome)  # the review's method: every default
        before = effects_at(session, spec, version - 1, memo=memo, min_rank=None)
        after = effects_at(session, spec, version, memo=memo, min_rank=None, committed=committed)
        # "before" is committed (the write holds the evidence lock); "after" when said so.
        earlier = remembered_headline(memo, before, spec, version - 1, remember=True)
        later = remembered_headline(memo, after, spec, version, remember=committed)
        changes.append(
            PooledChangeRead(
                outcome=outcome,
                before=PooledSnapshotRead(evidence_version=version - 1, **earlier),
                after=PooledSnapshotRead(evidence_version=version, **later),
            )
        )
    return changes


def remembered_headline(
    memo: SelectionMemo, effects: Effects, spec: PooledSpec, version: int, *, remember: bool
) -> dict[str, Any]:
    """:func:`.analysis.headline` of ``effects`` (the cell ``spec`` at ``version``), from
    ``memo`` when an earlier version's changes computed it; remembered when ``remember``
    (``version`` is committed). A copy: the caller may change it."""
    canonical = spec.canonical()
    known = known_headline(memo, spec, version) if remember else None
    if known is None:
        known = headline(effects, spec)
        if remember:
            memo.headlines.put(canonical, version, known)
    return dict(known)


def version_changes(
    session: Session, number: int, *, selections: SelectionMemo | None = None
) -> VersionChangesRead:
    """What committed version ``number`` did to the pooled results of the outcomes it
    touched (404 when there is no such version): from the memo the conclusions worker
    warmed, or computed now when it has not reached the version yet."""
    version = EvidenceRepository(session).version(number)
    if version is None:
        raise NotFoundError(f"There is no evidence version {number}.")
    outcomes = sorted(o.outcome_slug for o in version.outcomes)
    changes = pooled_changes(
        session, outcomes, version=number, selections=selections, committed=True
    )
    return VersionChangesRead(
        evidence_version=number,
        outcomes=outcomes,
        pooled_changes=changes,
        concluded=not ConclusionRepository(session).pending_for(None, number, only=number),
    )


def previewed_changes(
    session: Session,
    bodies: Sequence[StudyCreate],
    context: WriteContext,
    *,
    selections: SelectionMemo | None = None,
) -> tuple[PooledChangeRead, ...]:
    """The pooled changes ``bodies`` would make if included (issue 16), for a key whose
    studies wait as pending and who asked for its write's pooled changes inline.

    The same write by a trusted key in a SAVEPOINT rolled back at once; call it before the
    real write, holding the evidence lock (taken here), so both get the same version number.
    """
    lock_evidence(session)
    savepoint = session.begin_nested()
    try:
        if len(bodies) == 1:
            one = studies.create_study(session, bodies[0], context.as_preview())
            version, outcomes = one.evidence_version, one.outcomes
        else:
            many = studies.create_studies(session, bodies, context.as_preview())
            version, outcomes = many.evidence_version, many.outcomes
        changes = pooled_changes(session, outcomes, version=version, selections=selections)
    finally:
        savepoint.rollback()
    return tuple(change.model_copy(update={"counted": False}) for change in changes)


def known_headline(memo: SelectionMemo, spec: PooledSpec, version: int) -> dict[str, Any] | None:
    """The headline of the cell ``spec`` at committed ``version`` when remembered (a copy)."""
    known = memo.headlines.get(spec.canonical(), version)
    return dict(known) if known is not None else None
