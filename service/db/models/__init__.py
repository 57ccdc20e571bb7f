"""All models, imported here so that ``Base.metadata`` knows every table."""

from service.db.models.api_key import ApiKey
from service.db.models.conclusions import ConclusionJob, MonitoringLook
from service.db.models.events import DeliveryAttempt, Event, Webhook, WebhookDelivery
from service.db.models.evidence import (
    AuditEntry,
    EvidenceChange,
    EvidenceHead,
    EvidenceVersion,
    EvidenceVersionOutcome,
    OutcomeResult,
    Study,
    StudyArm,
    StudyRevision,
)
from service.db.models.exchange import StudySourceKey
from service.db.models.extraction import ExtractionDiscrepancy, StudyExtraction
from service.db.models.idempotency import IdempotencyRecord
from service.db.models.judgement import CertaintyJudgement
from service.db.models.surveillance import Candidate, SearchRun
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
    "AuditEntry",
    "Candidate",
    "CertaintyJudgement",
    "Comparator",
    "ConclusionJob",
    "DeliveryAttempt",
    "Event",
    "EvidenceChange",
    "EvidenceHead",
    "EvidenceVersion",
    "EvidenceVersionOutcome",
    "ExtractionDiscrepancy",
    "IdempotencyRecord",
    "Instrument",
    "InterventionCategory",
    "MonitoringLook",
    "Outcome",
    "OutcomeResult",
    "QualityRating",
    "SearchRun",
    "Study",
    "StudyArm",
    "StudyDesign",
    "StudyExtraction",
    "StudyRevision",
    "StudySourceKey",
    "Webhook",
    "WebhookDelivery",
]
