"""A pending study beside the stored study it may duplicate, for the curation queue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.schemas.studies import StudyRead
from service.usecases.studies.duplicates import NearDuplicate


@dataclass(frozen=True, slots=True)
class PairRow:
    """One line of a possible-duplicate pair: what each study says."""

    name: str
    this: str
    other: str
    same: bool


@dataclass(frozen=True, slots=True)
class DuplicateView:
    """A stored study the pending one looks like, side by side, with the evidence."""

    study_id: int
    href: str
    rows: tuple[PairRow, ...]
    evidence: str


def duplicate_views(study: StudyRead, found: Sequence[NearDuplicate]) -> tuple[DuplicateView, ...]:
    """Each likely duplicate of ``study`` beside it: title, authors, year, arm sizes."""
    mine = (study.title, study.authors, str(study.year),
            " / ".join(str(a.n_randomized) for a in study.arms))  # fmt: skip
    views = []
    for item in found:
        other = item.existing
        theirs = (other.title, other.authors, str(other.year),
                  " / ".join(str(n) for n in other.arm_sizes))  # fmt: skip
        names = ("Title", "Authors", "Year", "Arms (randomized)")
        e = item.evidence
        views.append(
            DuplicateView(
                study_id=other.study_id or 0,
                href=f"/studies/{other.study_id}",
                rows=tuple(
                    PairRow(n, a, b, a == b) for n, a, b in zip(names, mine, theirs, strict=True)
                ),
                evidence=f"title similarity {e.title_similarity:.0f}/100, first author "
                f"{e.first_author}, years {e.years[0]} and {e.years[1]}, "
                + ("same arm sizes" if e.same_arm_sizes else "identical titles"),
            )
        )
    return tuple(views)
