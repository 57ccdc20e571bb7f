"""Ongoing trials: registered trials of the review's question that have not reported yet.

A candidate with an NCT id, no results posted and a registry status that still promises
results (:data:`ONGOING_STATUSES`, ClinicalTrials.gov's ``overallStatus`` values:
https://clinicaltrials.gov/data-api/about-api/study-data-structure) that no curator excluded.
Withdrawn, terminated and suspended trials will not report and are left out, and so is a trial
the review has as a study (made from the candidate, matched to a stored one, or a current study
registered under the same NCT id): it has reported. Per outcome: the outcomes the registry
record names (:func:`~.relevance.outcomes_named`). The plain-language statement of the pooled
answer counts them ("2 registered trials are expected to report by 2027"; :mod:`.answers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.db.models import Candidate
from service.db.repositories.surveillance import SurveillanceRepository
from service.errors import NotFoundError
from service.usecases.studies.rules import Vocabulary

ONGOING_STATUSES = frozenset(
    {
        "NOT_YET_RECRUITING",
        "RECRUITING",
        "ENROLLING_BY_INVITATION",
        "ACTIVE_NOT_RECRUITING",
        "COMPLETED",
        "UNKNOWN",
    }
)


def ongoing_trials(session: Session, outcome: str | None) -> list[Candidate]:
    """Ongoing trials (of ``outcome`` when given), soonest expected completion first."""
    rows = SurveillanceRepository(session).ongoing(outcome)
    return [row for row in rows if (row.registry_status or "UNKNOWN") in ONGOING_STATUSES]


def ongoing_of_outcome(session: Session, outcome: str) -> list[Candidate]:
    """:func:`ongoing_trials` of one outcome; 404 for an outcome the review does not have."""
    known = Vocabulary.load(session).outcomes
    if outcome not in known:
        names = ", ".join(sorted(known))
        raise NotFoundError(f"There is no outcome '{outcome}'; the outcomes are: {names}.")
    return ongoing_trials(session, outcome)


@dataclass(frozen=True, slots=True)
class OngoingCount:
    """How many ongoing trials, and the latest year one is expected to complete (``None``
    when no trial gives a date)."""

    count: int
    expected_by: int | None

    @property
    def stamp(self) -> str:
        """What the count says, in short: part of a pooled answer's cache key and ETag."""
        return f"{self.count}:{self.expected_by or ''}" if self.count else ""


def count_of(trials: list[Candidate]) -> OngoingCount:
    """The count of ``trials`` and the latest completion year among them."""
    # A completion date is stored cleaned, ISO 8601 from the year on (see .records).
    years = [int(t.completion_date[:4]) for t in trials if t.completion_date]
    return OngoingCount(len(trials), max(years, default=None))


def expected_by(trials: list[Candidate]) -> str | None:
    """The clause: "2 registered trials expected to report by 2027" (``None`` for none)."""
    count = count_of(trials)
    if not count.count:
        return None
    noun = "trial" if count.count == 1 else "trials"
    when = (
        f" expected to report by {count.expected_by}"
        if count.expected_by
        else " without an expected date"
    )
    return f"{count.count} registered {noun}{when}"


def ongoing_sentence(count: OngoingCount) -> str | None:
    """The plain-language sentence: "2 registered trials are expected to report by 2027."
    (``None`` when there are none)."""
    if not count.count:
        return None
    lead = "1 registered trial is" if count.count == 1 else f"{count.count} registered trials are"
    if count.expected_by is None:
        return f"{lead} still to report, without an expected date."
    return f"{lead} expected to report by {count.expected_by}."
