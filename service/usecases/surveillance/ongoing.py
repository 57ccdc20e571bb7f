"""Ongoing trials: registered trials of the review's question that have not reported yet.

A candidate with an NCT id, no results posted and a registry status that still promises
results (:data:`ONGOING_STATUSES`, ClinicalTrials.gov's ``overallStatus`` values:
https://clinicaltrials.gov/data-api/about-api/study-data-structure) that no curator excluded.
Withdrawn, terminated and suspended trials will not report and are left out. Per outcome: the
outcomes the registry record names (:func:`~.relevance.outcomes_named`). The plain-language
statement counts them ("2 registered trials expected to report by 2027").
"""

from __future__ import annotations

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


def expected_by(trials: list[Candidate]) -> str | None:
    """The plain-language clause: "2 registered trials expected to report by 2027"."""
    if not trials:
        return None
    years = [t.completion_date[:4] for t in trials if t.completion_date]
    noun = "trial" if len(trials) == 1 else "trials"
    when = f" expected to report by {max(years)}" if years else " without an expected date"
    return f"{len(trials)} registered {noun}{when}"
