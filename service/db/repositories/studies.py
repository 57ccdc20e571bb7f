"""Reads and writes of studies and their revisions."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, joinedload, selectinload

from service.db.base import Base
from service.db.models import EvidenceVersion, OutcomeResult, Study, StudyArm, StudyRevision

_WITH_CONTENT = (
    joinedload(StudyRevision.study, innerjoin=True),
    selectinload(StudyRevision.arms),
    selectinload(StudyRevision.outcome_results),
)


@dataclass(frozen=True, slots=True)
class NewStudyRows:
    """A new study's first revision as column values, for :meth:`StudyRepository.insert_new`.

    ``revision`` lacks ``id`` and ``study_id``, each arm ``id`` and ``revision_id``, and each
    result ``id``, ``revision_id`` and its arm ids: ``result_arms`` gives, per result, the
    positions in ``arms`` of its intervention and control arm.
    """

    revision: dict[str, Any]
    arms: list[dict[str, Any]]
    results: list[dict[str, Any]]
    result_arms: list[tuple[int, int]]


@dataclass(slots=True)
class MatchRow:
    """A current study's title, first authors, year, registration id and arm sizes."""

    study_id: int
    title: str
    authors: str
    year: int
    registration_id: str | None
    arm_sizes: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StudyFilters:
    """What a list of studies may be narrowed to; empty collections do not filter.

    ``hidden_statuses`` leaves out studies in those statuses, except the ones the API key named
    ``unless_submitted_by`` submitted.
    """

    outcomes: Collection[str] = ()
    categories: Collection[str] = ()
    designs: Collection[str] = ()
    statuses: Collection[str] = ()
    year_from: int | None = None
    year_to: int | None = None
    text: str | None = None
    registration_id: str | None = None
    doi: str | None = None
    hidden_statuses: Collection[str] = ()
    unless_submitted_by: str | None = None


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
    if f.hidden_statuses:
        query = query.where(_visible(f.hidden_statuses, f.unless_submitted_by))
    return query


def _submitted_by(actor: str) -> ColumnElement[bool]:
    studies = (
        select(Study.id)
        .join(EvidenceVersion, EvidenceVersion.number == Study.created_version)
        .where(EvidenceVersion.actor == actor)
    )
    return StudyRevision.study_id.in_(studies)


def _visible(hidden: Collection[str], actor: str | None) -> ColumnElement[bool]:
    shown = StudyRevision.status.not_in(hidden)
    return shown if actor is None else or_(shown, _submitted_by(actor))


# Up to this many new studies, revision and arm ids come back by RETURNING (see insert_new).
_RETURNING_AT_MOST = 10


class StudyRepository:
    """Studies as of any evidence version, loaded with their arms and outcome results."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert_new(
        self, studies: Sequence[NewStudyRows], *, created_at: datetime, created_version: int
    ) -> list[int]:
        """Insert new studies with their first revisions; their ids, ascending, in the order given.

        One bulk INSERT per table instead of the unit of work's per-object bookkeeping, each
        sending many rows per statement. The ``study`` insert uses RETURNING: its rows are
        all alike, so any order of the new ids is correct (ascending keeps the batch's order).
        Revision and arm ids come back with their study id or revision id and position, so
        their order does not matter either: by RETURNING for a few studies (a statement fewer
        each, a single write's round trips), and for more by one indexed query each, because
        RETURNING there would cost more than the inserts (psycopg parses a 30,000-placeholder
        statement in Python).
        """
        if not studies:
            return []
        study_ids = sorted(
            self._session.scalars(
                insert(Study).returning(Study.id),
                [{"created_at": created_at, "created_version": created_version} for _ in studies],
            )
        )
        returning = len(studies) <= _RETURNING_AT_MOST
        revision_ids = self._insert_revisions(studies, study_ids, returning=returning)
        arms = [
            {**arm, "revision_id": revision_id}
            for new, revision_id in zip(studies, revision_ids, strict=True)
            for arm in new.arms
        ]
        if returning:
            arm_of = self._insert_returning(StudyArm, arms, ("revision_id", "position"))
        else:
            self._insert(StudyArm, arms)
            arm_of = self._new_arm_ids(study_ids, set(revision_ids))
        self._insert(
            OutcomeResult,
            [
                {
                    **result,
                    "revision_id": revision_id,
                    "intervention_arm_id": arm_of[revision_id, new.arms[i]["position"]],
                    "control_arm_id": arm_of[revision_id, new.arms[c]["position"]],
                }
                for new, revision_id in zip(studies, revision_ids, strict=True)
                for result, (i, c) in zip(new.results, new.result_arms, strict=True)
            ],
        )
        return study_ids

    def _insert_revisions(
        self, studies: Sequence[NewStudyRows], study_ids: list[int], *, returning: bool
    ) -> list[int]:
        """Insert the first revisions of ``studies``; their ids, in the order of ``study_ids``."""
        rows = [{**new.revision, "study_id": i} for new, i in zip(studies, study_ids, strict=True)]
        if returning:
            revision_of = self._insert_returning(StudyRevision, rows, ("study_id",))
            return [revision_of[(study_id,)] for study_id in study_ids]
        self._insert(StudyRevision, rows)
        return self._new_revision_ids(study_ids)

    def _insert(self, model: type[Base], rows: list[dict[str, Any]]) -> None:
        # A Core executemany on the table, not the ORM's bulk INSERT: the rows are plain
        # column values already, and the ORM's per-row bookkeeping took about a fifth of a
        # 1,000-study batch. Every row of a table has the same keys, as executemany needs.
        if rows:
            table = cast(Table, model.__table__)
            self._session.execute(insert(table), rows)

    def _insert_returning(
        self, model: type[Base], rows: list[dict[str, Any]], keys: tuple[str, ...]
    ) -> dict[tuple[Any, ...], int]:
        """Insert ``rows`` (as :meth:`_insert`); each new id, by the values of ``keys``."""
        if not rows:
            return {}
        table = cast(Table, model.__table__)
        statement = insert(table).returning(*(table.c[key] for key in keys), table.c.id)
        return {tuple(row[:-1]): int(row[-1]) for row in self._session.execute(statement, rows)}

    def _new_revision_ids(self, study_ids: list[int]) -> list[int]:
        """The ids of the only revisions of the new studies ``study_ids`` (ascending)."""
        query = select(StudyRevision.study_id, StudyRevision.id).where(
            StudyRevision.study_id.between(study_ids[0], study_ids[-1])
        )
        revision_of: dict[int, int] = dict(self._session.execute(query).all())
        return [revision_of[study_id] for study_id in study_ids]

    def _new_arm_ids(
        self, study_ids: list[int], revision_ids: set[int]
    ) -> dict[tuple[int, int], int]:
        """Each arm id of the revisions ``revision_ids``, by revision id and position."""
        query = (
            select(StudyArm.revision_id, StudyArm.position, StudyArm.id)
            .join(StudyRevision, StudyRevision.id == StudyArm.revision_id)
            .where(StudyRevision.study_id.between(study_ids[0], study_ids[-1]))
        )
        return {
            (revision_id, position): arm_id
            for revision_id, position, arm_id in self._session.execute(query)
            if revision_id in revision_ids
        }

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

    def count_by_status(self) -> dict[str, int]:
        """How many studies are currently in each status (statuses without any are absent)."""
        query = (
            select(StudyRevision.status, func.count())
            .where(StudyRevision.valid_to.is_(None))
            .group_by(StudyRevision.status)
        )
        rows = self._session.execute(query).all()
        return {str(status): int(count) for status, count in rows}

    def submitter(self, study_id: int) -> str | None:
        """The name of the API key that added the study: the actor of its first version."""
        query = (
            select(EvidenceVersion.actor)
            .join(Study, Study.created_version == EvidenceVersion.number)
            .where(Study.id == study_id)
        )
        return self._session.scalars(query).one_or_none()

    def duplicates(
        self,
        *,
        dois: Collection[str],
        registration_ids: Collection[str],
        except_study_id: int | None = None,
    ) -> Sequence[StudyRevision]:
        """Current, not withdrawn revisions that share a DOI or a registration id."""
        # Each key's lookup is led by its own index, and the two are one statement (a round
        # trip fewer per write): with both keys in one OR, the planner may walk every current
        # revision instead (26 ms a write at 10,000 studies on SQLite).
        lookups = []
        for column, values in (
            (StudyRevision.doi, dois),
            (StudyRevision.registration_id, registration_ids),
        ):
            if not values:
                continue
            lookup = select(StudyRevision.id).where(
                column.in_(sorted(values)),
                StudyRevision.valid_to.is_(None),
                StudyRevision.status != "withdrawn",
            )
            if except_study_id is not None:
                lookup = lookup.where(StudyRevision.study_id != except_study_id)
            lookups.append(lookup)
        if not lookups:
            return []
        found = lookups[0] if len(lookups) == 1 else union_all(*lookups)
        query = (
            select(StudyRevision)
            .where(StudyRevision.id.in_(found))
            .order_by(StudyRevision.study_id, StudyRevision.id)
        )
        return self._session.scalars(query).all()

    def near_duplicate_authors(
        self,
        years: Collection[int],
        *,
        registration_ids: Collection[str] | None = None,
        except_study_id: int | None = None,
    ) -> list[tuple[int, str]]:
        """(study id, authors) of the current, not withdrawn studies of ``years``: the cheap
        first pass of near-duplicate matching (narrowed on the first author by the caller).

        With ``registration_ids`` given, only studies without a registration id or with one of
        those: two different registration ids are two trials, so no other study can match.
        """
        if not years:
            return []
        query = select(StudyRevision.study_id, StudyRevision.authors).where(
            *_current_of_years(years)
        )
        if registration_ids is not None:
            query = query.where(
                or_(
                    StudyRevision.registration_id.is_(None),
                    StudyRevision.registration_id == "",
                    StudyRevision.registration_id.in_(sorted(set(registration_ids))),
                )
            )
        if except_study_id is not None:
            query = query.where(StudyRevision.study_id != except_study_id)
        return [(int(i), str(a)) for i, a in self._session.execute(query)]

    def near_duplicate_candidates(self, study_ids: Collection[int]) -> list[MatchRow]:
        """The current revisions of ``study_ids`` as what near-duplicates are matched on."""
        if not study_ids:
            return []
        query = (
            select(
                StudyRevision.study_id,
                StudyRevision.title,
                StudyRevision.authors,
                StudyRevision.year,
                StudyRevision.registration_id,
                StudyArm.n_randomized,
            )
            .join(StudyArm, StudyArm.revision_id == StudyRevision.id)
            .where(StudyRevision.valid_to.is_(None), StudyRevision.study_id.in_(sorted(study_ids)))
            .order_by(StudyRevision.study_id, StudyArm.position)
        )
        rows: dict[int, MatchRow] = {}
        for study_id, title, authors, year, registration, n in self._session.execute(query):
            row = rows.setdefault(study_id, MatchRow(study_id, title, authors, year, registration))
            row.arm_sizes.append(int(n))
        return list(rows.values())


def _current_of_years(years: Collection[int]) -> tuple[ColumnElement[bool], ...]:
    return (
        StudyRevision.valid_to.is_(None),
        StudyRevision.status != "withdrawn",
        StudyRevision.year.in_(sorted(set(years))),
    )
