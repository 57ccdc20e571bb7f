"""Pooled answers that count the outcome's ongoing trials (issue 28, item 4).

The plain-language statement of an outcome's pooled answer ends with the registered trials
still to report, as ``GET /v1/outcomes/{outcome}/ongoing`` lists them (:mod:`.ongoing`):
"2 registered trials are expected to report by 2027." The same count is in ``ongoing``
(``count``, ``expected_by``) for apps. Nothing is added when there are none.

Candidates make no evidence version, so the count is an addendum
(:mod:`service.usecases.pooled.addenda`): the analysis stays cached by its evidence version,
and the count joins the cache key and the ETag. A new ongoing trial, a status change, an
exclusion or a trial that became a study changes the answer and its ETag; a client holding
the old ETag gets 200 with the new sentence, never a 304.

``as_of``: registrations have no history in the evidence ledger, and an answer pinned to a
version is immutable (cached for a year). So a pinned answer carries no count, whatever the
version; the count is always today's, in answers at the newest version.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from service.db.repositories.surveillance import SurveillanceRepository
from service.schemas.common import ReadModel
from service.schemas.pooled import PooledQuery, PooledRead
from service.schemas.pooled_summary import OngoingCountRead
from service.usecases.analyses.cost import UNLIMITED, ComputeBudget
from service.usecases.judgement.answers import Conditional, pooled_result
from service.usecases.pooled.addenda import Addendum
from service.usecases.pooled.cache import ResultCache
from service.usecases.surveillance.ongoing import (
    OngoingCount,
    count_of,
    ongoing_sentence,
    ongoing_trials,
)

ONGOING = "ongoing"
AnswerT = TypeVar("AnswerT")
AnswerT_co = TypeVar("AnswerT_co", covariant=True)


def ongoing_addendum(
    session: Session, cache: ResultCache, outcome: str, *, pinned: bool
) -> Addendum | None:
    """The count of ``outcome``'s ongoing trials as an addendum (``None`` when ``pinned``).

    The state is read before the trials, so the stamp the fast path may reuse for that state
    is never older than the state (:class:`~service.usecases.pooled.addenda.AddendumStamps`).
    """
    if pinned:
        return None
    state = SurveillanceRepository(session).state()
    count = count_of(ongoing_trials(session, outcome))
    cache.addenda.remember(state, ONGOING, outcome, count.stamp)
    return Addendum(ONGOING, count.stamp, lambda answer: with_ongoing(answer, outcome, count))


def ongoing_read(outcome: str, count: OngoingCount) -> OngoingCountRead | None:
    """The structured count (``None`` when there are none)."""
    sentence = ongoing_sentence(count)
    if sentence is None:
        return None
    return OngoingCountRead(
        count=count.count,
        expected_by=count.expected_by,
        sentence=sentence,
        href=f"/v1/outcomes/{outcome}/ongoing",
    )


def with_ongoing(answer: ReadModel, outcome: str, count: OngoingCount) -> ReadModel:
    """``answer`` with the count, and its sentence after the plain-language statement."""
    ongoing = ongoing_read(outcome, count)
    if ongoing is None:
        return answer
    update: dict[str, object] = {"ongoing": ongoing}
    statement = getattr(answer, "statement", None)
    if statement is not None:
        plain = f"{statement.plain_language} {ongoing.sentence}"
        update["statement"] = statement.model_copy(update={"plain_language": plain})
    # model_copy marks the updated fields as set, so the cached JSON includes them.
    return answer.model_copy(update=update)


class OutcomeReader(Protocol[AnswerT_co]):
    """:func:`~service.usecases.judgement.answers.pooled_result` or ``pooled_headline``."""

    def __call__(
        self,
        session: Session,
        cache: ResultCache,
        outcome: str,
        query: PooledQuery,
        *,
        if_none_match: str | None = None,
        budget: ComputeBudget = UNLIMITED,
        addendum: Addendum | None = None,
    ) -> Conditional[AnswerT_co]: ...


def counting_ongoing(
    session: Session,
    cache: ResultCache,
    outcome: str,
    query: PooledQuery,
    *,
    reader: OutcomeReader[AnswerT],
    if_none_match: str | None = None,
    budget: ComputeBudget = UNLIMITED,
) -> Conditional[AnswerT]:
    """``reader``'s answer (the full one or the headline), counting ongoing trials."""
    addendum = ongoing_addendum(session, cache, outcome, pinned=query.as_of is not None)
    return reader(
        session,
        cache,
        outcome,
        query,
        if_none_match=if_none_match,
        budget=budget,
        addendum=addendum,
    )


def pooled_with_ongoing(
    session: Session, cache: ResultCache, outcome: str, query: PooledQuery
) -> Conditional[PooledRead]:
    """The full answer, counting ongoing trials (the dashboard's)."""
    return counting_ongoing(session, cache, outcome, query, reader=pooled_result)
