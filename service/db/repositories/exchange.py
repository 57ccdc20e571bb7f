"""Reads and writes of imported studies' source keys."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.db.models import StudyRevision, StudySourceKey


class SourceKeyRepository:
    """Which current, not withdrawn study a source's own study id names."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def current_studies(self, source: str, keys: Collection[str]) -> dict[str, int]:
        """``{source_study_id: study_id}`` for the keys whose study is current and not withdrawn."""
        if not keys:
            return {}
        query = (
            select(StudySourceKey.source_study_id, StudySourceKey.study_id)
            .join(StudyRevision, StudyRevision.study_id == StudySourceKey.study_id)
            .where(
                StudySourceKey.source == source,
                StudySourceKey.source_study_id.in_(sorted(keys)),
                StudyRevision.valid_to.is_(None),
                StudyRevision.status != "withdrawn",
            )
        )
        return {row.source_study_id: row.study_id for row in self._session.execute(query)}

    def remember(self, source: str, study_of_key: Mapping[str, int]) -> None:
        """Store each key's study; a key seen before (its study withdrawn) now names the new one."""
        if not study_of_key:
            return
        stale = select(StudySourceKey).where(
            StudySourceKey.source == source,
            StudySourceKey.source_study_id.in_(sorted(study_of_key)),
        )
        for row in self._session.scalars(stale):
            self._session.delete(row)
        self._session.flush()
        rows = [
            {"source": source, "source_study_id": key, "study_id": study_id}
            for key, study_id in study_of_key.items()
        ]
        self._session.execute(insert(StudySourceKey), rows)
