"""The evidence version counter, the versions themselves and the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from service.db.models import (
    AuditEntry,
    EvidenceChange,
    EvidenceHead,
    EvidenceVersion,
    EvidenceVersionOutcome,
)

_HEAD_ID = 1
_VERSION_TABLE: Table = EvidenceVersion.__table__  # type: ignore[assignment]
_WITH_CHANGES = (selectinload(EvidenceVersion.changes), selectinload(EvidenceVersion.outcomes))


class EvidenceRepository:
    """The single-row version counter and what each version changed."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_head(self) -> int:
        """The newest version, locking the counter until the transaction ends.

        PostgreSQL: ``SELECT ... FOR UPDATE`` makes every other writer wait here, and as each
        statement in READ COMMITTED sees what committed before it, everything the writer reads
        afterwards is current. SQLite ignores ``FOR UPDATE``; its writers are already serialised
        by ``BEGIN IMMEDIATE`` (see :mod:`service.db.engine`).
        """
        query = select(EvidenceHead.version).where(EvidenceHead.id == _HEAD_ID).with_for_update()
        return self._session.execute(query).scalar_one()

    def advance_head(self) -> int:
        """Take the next version number (under the row lock, which it also takes)."""
        statement = (
            update(EvidenceHead)
            .where(EvidenceHead.id == _HEAD_ID)
            .values(version=EvidenceHead.version + 1)
            .returning(EvidenceHead.version)
        )
        return self._session.execute(statement).scalar_one()

    def head(self) -> int:
        """The newest committed version, without locking."""
        query = select(EvidenceHead.version).where(EvidenceHead.id == _HEAD_ID)
        return self._session.execute(query).scalar_one()

    def add(self, version: EvidenceVersion) -> None:
        """Insert ``version`` now, so that rows inserted in bulk can refer to it.

        One Core INSERT, after which the object joins the session as if it had been loaded:
        the unit of work's flush of this one object cost about a sixth of a single study's
        write (1.0-1.2 ms of process time, SQLite and PostgreSQL, issue 23). A later change to
        it (a use case setting ``summary``) is still flushed by the session.
        """
        table = _VERSION_TABLE
        self._session.execute(
            insert(table).values({c.key: getattr(version, c.key) for c in table.columns})
        )
        make_transient_to_detached(version)
        self._session.add(version)

    def set_summary(self, version: EvidenceVersion, summary: str) -> None:
        """Store ``summary`` as the version's: one UPDATE now, nothing left for a flush."""
        statement = (
            update(_VERSION_TABLE)
            .where(_VERSION_TABLE.c.number == version.number)
            .values(summary=summary)
        )
        self._session.execute(statement)
        set_committed_value(version, "summary", summary)

    def insert_changes(
        self, changes: Sequence[dict[str, Any]], outcomes: Sequence[dict[str, Any]]
    ) -> None:
        """Insert a version's changes and touched outcomes, each table in one bulk INSERT."""
        for model, rows in ((EvidenceChange, changes), (EvidenceVersionOutcome, outcomes)):
            if rows:
                self._session.execute(insert(model), list(rows))

    def version(self, number: int) -> EvidenceVersion | None:
        """One version with its changes and outcomes."""
        query = select(EvidenceVersion).where(EvidenceVersion.number == number)
        return self._session.scalars(query.options(*_WITH_CHANGES)).one_or_none()

    def created_at(self, number: int) -> datetime | None:
        """When version ``number`` was made (``None`` when there is no such version)."""
        query = select(EvidenceVersion.created_at).where(EvidenceVersion.number == number)
        return self._session.execute(query).scalar_one_or_none()

    def versions(
        self, *, before: int | None, limit: int, outcome: str | None = None
    ) -> Sequence[EvidenceVersion]:
        """Up to ``limit`` versions, newest first, numbered below ``before``."""
        query = select(EvidenceVersion)
        if before is not None:
            query = query.where(EvidenceVersion.number < before)
        if outcome is not None:
            touched = select(EvidenceVersionOutcome.version_number).where(
                EvidenceVersionOutcome.outcome_slug == outcome
            )
            query = query.where(EvidenceVersion.number.in_(touched))
        query = query.order_by(EvidenceVersion.number.desc()).limit(limit)
        return self._session.scalars(query.options(*_WITH_CHANGES)).all()


class AuditRepository:
    """Append-only audit entries."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def insert_all(self, entries: Sequence[dict[str, Any]]) -> None:
        """Insert entries (column values) in one bulk INSERT, without fetching their ids."""
        if entries:
            # render_nulls: entries with and without a "before" share one statement.
            statement = insert(AuditEntry).execution_options(render_nulls=True)
            self._session.execute(statement, list(entries))

    def entries(
        self,
        *,
        before_id: int | None,
        limit: int,
        resource_id: int | None = None,
        actor: str | None = None,
    ) -> Sequence[AuditEntry]:
        """Up to ``limit`` entries, newest first, with ids below ``before_id``."""
        query = select(AuditEntry)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if resource_id is not None:
            query = query.where(
                AuditEntry.resource_type == "study", AuditEntry.resource_id == resource_id
            )
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        return self._session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)).all()
