"""All models, imported here so that ``Base.metadata`` knows every table."""

from service.db.models.vocabulary import (
    Comparator,
    Instrument,
    InterventionCategory,
    Outcome,
    QualityRating,
    StudyDesign,
)

__all__ = [
    "Comparator",
    "Instrument",
    "InterventionCategory",
    "Outcome",
    "QualityRating",
    "StudyDesign",
]
