"""All models, imported here so that ``Base.metadata`` knows every table."""

from service.db.models.api_key import ApiKey
from service.db.models.idempotency import IdempotencyRecord
from service.db.models.vocabulary import (
    Comparator,
    Instrument,
    InterventionCategory,
    Outcome,
    QualityRating,
    StudyDesign,
)

__all__ = [
    "ApiKey",
    "Comparator",
    "IdempotencyRecord",
    "Instrument",
    "InterventionCategory",
    "Outcome",
    "QualityRating",
    "StudyDesign",
]
