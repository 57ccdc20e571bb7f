"""Concluding one evidence version: its pooled changes, monitoring looks and events.

From committed versions only (the version and the one before it), so what is concluded is
what every reader sees. Computed in a read session; the events, looks and the mark that the
version is concluded are stored together in one short write transaction by the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.db.repositories.evidence import EvidenceRepository
from service.usecases.events.envelope import EventDraft
from service.usecases.events.write_events import moved_outcomes, version_drafts
from service.usecases.judgement.looks import LookUpdate, looks_of_version
from service.usecases.pooled.changes import pooled_changes
from service.usecases.pooled.effects import SelectionMemo


@dataclass(frozen=True, slots=True)
class Concluded:
    """What concluding a version produced, ready to be stored."""

    version: int
    created_at: datetime
    drafts: tuple[EventDraft, ...]
    looks: tuple[LookUpdate, ...]


def conclude_version(session: Session, number: int, memo: SelectionMemo) -> Concluded:
    """Compute the events and monitoring looks of committed version ``number``."""
    version = EvidenceRepository(session).version(number)
    if version is None:  # the job commits with its version: a bug, never user input
        raise LookupError(f"evidence version {number} is not committed")
    outcomes = sorted(o.outcome_slug for o in version.outcomes)
    # An outcome whose included evidence the version left as it was (a pending submission,
    # an edit of a pending study) has the same effects, so the same headline in every cell:
    # no event, no fit. Only the outcomes it moved are compared before and after.
    # One query for the three steps below (each asked it again: ~4 ms a time at 10,000 studies).
    changed = moved_outcomes(session, number)
    moved = sorted(changed & set(outcomes))
    pooled = pooled_changes(session, moved, version=number, selections=memo, committed=True)
    drafts = version_drafts(session, version, pooled, memo, moved=changed)
    # After the drafts: their monitoring reasons fit the version's look, which the looks reuse.
    at = (number, version.created_at)
    looks = tuple(
        looks_of_version(session, outcome, at, memo, moved=changed) for outcome in outcomes
    )
    return Concluded(number, version.created_at, tuple(drafts), looks)
