"""Second extractions and their discrepancies (SQL only; the rules live in the use cases)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.models import ExtractionDiscrepancy, StudyExtraction


class ExtractionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, extraction: StudyExtraction, discrepancies: Sequence[ExtractionDiscrepancy]
    ) -> None:
        self._session.add(extraction)
        self._session.flush()
        for row in discrepancies:
            row.extraction_id = extraction.id
        self._session.add_all(discrepancies)
        self._session.flush()

    def extractions(self, study_id: int) -> list[StudyExtraction]:
        query = select(StudyExtraction).where(StudyExtraction.study_id == study_id)
        return list(self._session.scalars(query.order_by(StudyExtraction.id)))

    def all_extractions(self) -> list[StudyExtraction]:
        return list(self._session.scalars(select(StudyExtraction).order_by(StudyExtraction.id)))

    def discrepancies(self, study_id: int) -> list[ExtractionDiscrepancy]:
        query = select(ExtractionDiscrepancy).where(ExtractionDiscrepancy.study_id == study_id)
        return list(self._session.scalars(query.order_by(ExtractionDiscrepancy.id)))

    def discrepancy(self, study_id: int, discrepancy_id: int) -> ExtractionDiscrepancy | None:
        row = self._session.get(ExtractionDiscrepancy, discrepancy_id)
        return row if row is not None and row.study_id == study_id else None

    def open_count(self, study_id: int) -> int:
        query = select(func.count()).where(
            ExtractionDiscrepancy.study_id == study_id, ExtractionDiscrepancy.status == "open"
        )
        return int(self._session.scalar(query) or 0)

    def open_by_study(self, study_ids: Sequence[int]) -> dict[int, list[ExtractionDiscrepancy]]:
        """The open discrepancies of each of ``study_ids`` (for the curation queue)."""
        if not study_ids:
            return {}
        query = select(ExtractionDiscrepancy).where(
            ExtractionDiscrepancy.study_id.in_(study_ids), ExtractionDiscrepancy.status == "open"
        )
        found: dict[int, list[ExtractionDiscrepancy]] = {}
        for row in self._session.scalars(query.order_by(ExtractionDiscrepancy.id)):
            found.setdefault(row.study_id, []).append(row)
        return found

    def extraction_count(self, study_id: int) -> int:
        query = select(func.count()).where(StudyExtraction.study_id == study_id)
        return int(self._session.scalar(query) or 0)
