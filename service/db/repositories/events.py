"""Queries of the event outbox and the feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, or_, select, true
from sqlalchemy.orm import Session

from service.db.models import Event, EvidenceChange, EvidenceVersion, Study, StudyRevision
from service.db.notifications import CHANNEL


@dataclass(frozen=True, slots=True)
class Audience:
    """Who reads: which non-public events they may see.

    ``all_studies``: curators and admins see every study event; ``key_name`` sees the events
    of the studies it submitted and of included studies; ``key_id`` sees its webhooks' events
    (``admin`` every webhook's). Anonymous readers (all ``None``/``False``) see public events.
    """

    key_id: int | None = None
    key_name: str | None = None
    all_studies: bool = False
    admin: bool = False

    def clause(self) -> ColumnElement[bool]:
        """The SQL condition on ``event`` rows this audience may read."""
        return or_(Event.audience == "public", self._studies(), self._owned())

    def _studies(self) -> ColumnElement[bool]:
        if self.all_studies:
            return Event.audience == "study"
        if self.key_name is None:
            return false()
        mine = or_(Event.study_submitter == self.key_name, Event.study_status == "included")
        return and_(Event.audience == "study", mine)

    def _owned(self) -> ColumnElement[bool]:
        if self.admin:
            return Event.audience == "owner"
        if self.key_id is None:
            return false()
        return and_(Event.audience == "owner", Event.owner_key_id == self.key_id)


@dataclass(frozen=True, slots=True)
class EventFilters:
    """The feed's filters; empty means no filter."""

    types: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    webhook_id: int | None = None


class EventRepository:
    """Events by id: assigned under the evidence lock, read in id order."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def newest_id(self) -> int:
        """The highest event id (0 for none)."""
        return int(self._session.execute(select(func.coalesce(func.max(Event.id), 0))).scalar_one())

    def insert_all(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert events (column values, ids included) in one bulk INSERT."""
        if rows:
            statement = insert(Event).execution_options(render_nulls=True)
            self._session.execute(statement, list(rows))

    def announce(self) -> None:
        """Wake listening workers when this transaction commits (PostgreSQL ``NOTIFY``; see
        :mod:`service.db.notifications`). Nothing on SQLite."""
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(select(func.pg_notify(CHANNEL, "")))

    def page(
        self, audience: Audience, filters: EventFilters, *, after: int, limit: int
    ) -> Sequence[Event]:
        """Up to ``limit`` events after id ``after`` that ``audience`` may read, oldest first."""
        query = select(Event).where(Event.id > after, audience.clause())
        query = query.where(*self._filters(filters))
        return self._session.scalars(query.order_by(Event.id).limit(limit)).all()

    @staticmethod
    def _filters(filters: EventFilters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.types:
            conditions.append(Event.type.in_(filters.types))
        if filters.outcomes:
            conditions.append(or_(Event.outcome.is_(None), Event.outcome.in_(filters.outcomes)))
        if filters.webhook_id is not None:
            conditions.append(
                or_(Event.webhook_id.is_(None), Event.webhook_id == filters.webhook_id)
            )
        else:
            conditions.append(Event.type != "webhook.test")
        return conditions or [true()]

    def by_id(self, event_id: int) -> Event | None:
        return self._session.get(Event, event_id)

    def ids_since(self, since: datetime, *, limit: int) -> Sequence[int]:
        """Ids of events created at or after ``since``, oldest first."""
        query = select(Event.id).where(Event.created_at >= since).order_by(Event.id).limit(limit)
        return self._session.scalars(query).all()

    def submitters(self, study_ids: Sequence[int]) -> dict[int, str]:
        """The key name that created each study (the actor of its first version)."""
        if not study_ids:
            return {}
        query = (
            select(Study.id, EvidenceVersion.actor)
            .join(EvidenceVersion, EvidenceVersion.number == Study.created_version)
            .where(Study.id.in_(study_ids))
        )
        return {row.id: row.actor for row in self._session.execute(query)}

    def changed_studies(self, version: int) -> list[tuple[int, str, str]]:
        """(study id, action, status after) of each study ``version`` changed, by id."""
        query = (
            select(EvidenceChange.study_id, EvidenceChange.action, StudyRevision.status)
            .join(
                StudyRevision,
                (StudyRevision.study_id == EvidenceChange.study_id)
                & (StudyRevision.valid_from == EvidenceChange.version_number),
            )
            .where(EvidenceChange.version_number == version)
            .order_by(EvidenceChange.study_id)
        )
        return [(row.study_id, row.action, row.status) for row in self._session.execute(query)]

    def prune(self, before: datetime) -> int:
        """Delete events created before ``before`` (their deliveries go with them).

        The newest event always stays: ids continue from it, so a cursor never sees one reused.
        """
        newest = select(func.max(Event.id)).scalar_subquery()
        condition = and_(Event.created_at < before, Event.id < newest)
        result = self._session.execute(delete(Event).where(condition))
        return int(getattr(result, "rowcount", 0) or 0)


def subscribed(
    types: Sequence[str], outcomes: Sequence[str] | None, webhook_id: int
) -> ColumnElement[bool]:
    """The events a webhook subscribed to: its types (and outcomes), and its own tests."""
    wanted: ColumnElement[bool] = Event.type.in_([t for t in types if t != "webhook.test"])
    if outcomes:
        wanted = and_(wanted, or_(Event.outcome.is_(None), Event.outcome.in_(outcomes)))
    own_test = and_(Event.type == "webhook.test", Event.webhook_id == webhook_id)
    return or_(wanted, own_test)


class FanOutRepository:
    """The events after a webhook's cursor that it should receive."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def matching(
        self,
        audience: Audience,
        condition: ColumnElement[bool],
        *,
        after: int,
        up_to: int,
        limit: int,
    ) -> Sequence[int]:
        """Ids in ``(after, up_to]`` matching ``condition`` that ``audience`` may read."""
        query = select(Event.id).where(
            Event.id > after, Event.id <= up_to, audience.clause(), condition
        )
        return self._session.scalars(query.order_by(Event.id).limit(limit)).all()
