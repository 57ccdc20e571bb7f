"""Reads and writes of studies and their revisions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from service.db.models import OutcomeResult, Study, StudyRevision

_WITH_CONTENT = (
    joinedload(StudyRevision.study, innerjoin=True),
    selectinload(StudyRevision.arms),
    selectinload(StudyRevision.outcome_results),
)


@dataclass(frozen=True, slots=True)
class StudyFilters:
    """What a list of studies may be narrowed to; empty collections do not filter."""

    outcomes: Collection[str] = ()
    categories: Collection[str] = ()
    designs: Collection[str] = ()
    statuses: Collection[str] = ()
    year_from: int | None = None
    year_to: int | None = None
    text: str | None = None
    registration_id: str | None = None
    doi: str | None = None


def valid_at(as_of: int | None) -> ColumnElement[bool]:
    """Revisions valid at evidence version ``as_of`` (the current ones when ``None``)."""
    if as_of is None:
        return StudyRevision.valid_to.is_(None)
    return and_(
        StudyRevision.valid_from <= as_of,
        or_(StudyRevision.valid_to.is_(None), StudyRevision.valid_to > as_of),
    )


def _filtered(query: Select[StudyRevision], f: StudyFilters) -> Select[StudyRevision]:
    for column, values in (
        (StudyRevision.category_slug, f.categories),
        (StudyRevision.design_slug, f.designs),
        (StudyRevision.status, f.statuses),
    ):
        if values:
            query = query.where(column.in_(values))
    if f.outcomes:
        reports = (OutcomeResult.revision_id == StudyRevision.id) & OutcomeResult.outcome_slug.in_(
            f.outcomes
        )
        query = query.where(exists().where(reports))
    if f.year_from is not None:
        query = query.where(StudyRevision.year >= f.year_from)
    if f.year_to is not None:
        query = query.where(StudyRevision.year <= f.year_to)
    if f.text:
        query = query.where(
            StudyRevision.title.icontains(f.text, autoescape=True)
            | StudyRevision.authors.icontains(f.text, autoescape=True)
        )
    if f.registration_id is not None:
        query = query.where(StudyRevision.registration_id == f.registration_id)
    if f.doi is not None:
        query = query.where(StudyRevision.doi == f.doi)
    return query


class StudyRepository:
    """Studies as of any evidence version, loaded with their arms and outcome results."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, study: Study, revision: StudyRevision) -> None:
        """Stage a new study with its first revision (and, through it, arms and results)."""
        self._session.add_all([study, revision])

    def add_revision(self, revision: StudyRevision) -> None:
        self._session.add(revision)

    def flush(self) -> None:
        self._session.flush()

    def revision(self, study_id: int, *, as_of: int | None = None) -> StudyRevision | None:
        """The study's revision valid at ``as_of`` (the current one when ``None``)."""
        query = (
            select(StudyRevision)
            .where(StudyRevision.study_id == study_id, valid_at(as_of))
            .options(*_WITH_CONTENT)
        )
        return self._session.scalars(query).one_or_none()

    def search(
        self,
        filters: StudyFilters,
        *,
        as_of: int | None,
        after_id: int | None,
        limit: int,
    ) -> Sequence[StudyRevision]:
        """Up to ``limit`` matching revisions, by study id, after ``after_id``.

        Arms and results come in one extra query each, whatever the page size.
        """
        query = select(StudyRevision).where(valid_at(as_of))
        if after_id is not None:
            query = query.where(StudyRevision.study_id > after_id)
        query = _filtered(query, filters).order_by(StudyRevision.study_id).limit(limit)
        return self._session.scalars(query.options(*_WITH_CONTENT)).all()

    def duplicates(
        self,
        *,
        dois: Collection[str],
        registration_ids: Collection[str],
        except_study_id: int | None = None,
    ) -> Sequence[StudyRevision]:
        """Current, not withdrawn revisions that share a DOI or a registration id."""
        if not dois and not registration_ids:
            return []
        query = select(StudyRevision).where(
            StudyRevision.valid_to.is_(None),
            StudyRevision.status != "withdrawn",
            or_(StudyRevision.doi.in_(dois), StudyRevision.registration_id.in_(registration_ids)),
        )
        if except_study_id is not None:
            query = query.where(StudyRevision.study_id != except_study_id)
        return self._session.scalars(query.order_by(StudyRevision.study_id)).all()
