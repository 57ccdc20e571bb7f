"""PRISMA 2020 flow counts of the living review's searches (Page et al. 2021, BMJ 372:n71).

From the search runs and the candidates, for the "identification of new studies via databases
and registers" column of the flow diagram for updated reviews:

- identified: every record the runs found (``search_run.found``), by source;
- duplicates removed: records merged into an earlier candidate (found, never stored as a row)
  plus candidates marked duplicates of a stored study (until a curator screens one);
- screened: every other candidate, which is awaiting a decision (unscreened or maybe),
  excluded (by reason) or included (with its data as a study, or awaiting extraction).

So identified = duplicates removed + screened and screened = awaiting + excluded + included by
construction; the tests check the numbers against what each step did. ``studies_in_review``
(the included studies of the evidence base, starter evidence counted) is the diagram's
"studies included in previous version of review" plus the new ones.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from service.db.repositories.studies import StudyRepository
from service.db.repositories.surveillance import SurveillanceRepository
from service.schemas.surveillance import PrismaRead
from service.usecases.surveillance.ongoing import ongoing_trials


def prisma_counts(session: Session) -> PrismaRead:
    """The counts of the module docstring."""
    repository = SurveillanceRepository(session)
    runs = repository.all_runs()
    by_source: Counter[str] = Counter()
    for run in runs:
        by_source[run.source] += run.found
    identified = sum(by_source.values())
    decisions = repository.decision_counts()
    rows = sum(decisions.values())
    by_decision: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for (decision, reason), count in decisions.items():
        by_decision[decision] += count
        if decision == "exclude":
            reasons[reason or "unspecified"] += count
    screened = rows - by_decision["duplicate"]
    statuses = StudyRepository(session).count_by_status()
    return PrismaRead(
        identified=identified,
        identified_by_source=dict(sorted(by_source.items())),
        duplicates_removed=identified - rows + by_decision["duplicate"],
        screened=screened,
        awaiting=by_decision["unscreened"] + by_decision["maybe"],
        maybe=by_decision["maybe"],
        excluded=by_decision["exclude"],
        excluded_by_reason=dict(sorted(reasons.items())),
        included=by_decision["include"],
        included_with_data=_with_data(repository),
        ongoing=len(ongoing_trials(session, None)),
        studies_in_review=statuses.get("included", 0),
        runs=len(runs),
    )


def _with_data(repository: SurveillanceRepository) -> int:
    return sum(
        1 for c in repository.candidates(decisions=["include"], limit=1_000_000) if c.study_id
    )
