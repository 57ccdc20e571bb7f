"""``view=summary``: the headline of a full pooled answer, for apps that show one line.

Built from the full answer (cached, or computed and cached on the way), so its numbers are
those of the full answer by construction, and a later full request is a cache hit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.db.repositories.pooled import PooledRepository
from service.schemas.pooled import PooledRead
from service.schemas.pooled_view import PooledHeadlineRead
from service.usecases.pooled.analysis import summary_of


def headline_view(session: Session, answer: PooledRead) -> PooledHeadlineRead:
    """The headline of ``answer``, with the outcome's name and when its version was made."""
    repository = PooledRepository(session)
    return PooledHeadlineRead(
        **summary_of(answer),
        outcome=answer.outcome,
        outcome_name=repository.outcome_name(answer.outcome) or answer.outcome,
        p_value=answer.result.p_value if answer.result else None,
        evidence_version=answer.evidence_version,
        evidence_created_at=repository.version_created_at(answer.evidence_version),
        engine_version=answer.engine_version,
        canonical=answer.spec.canonical,
    )
