"""Where imported studies came from: the source's own study id, so a re-import matches them.

A Metapsy or CSV file names its trials by its own key ("Boevink, 2016"), not by DOI or
registration id; ``study_source_key`` remembers that key beside the study it created, and an
import that meets the key again finds the study instead of adding it twice.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base

MAX_SOURCE_STUDY_ID = 300


class StudySourceKey(Base):
    """One study's id in one import source (``metapsy``, ``csv``)."""

    __tablename__ = "study_source_key"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_study_id: Mapped[str] = mapped_column(String(MAX_SOURCE_STUDY_ID), primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
