"""Dual extraction (Cochrane Handbook 5.5.2: two people extract independently): a second key's
extraction of a study, compared field by field with the study as stored (:mod:`.compare`);
each difference an open discrepancy that blocks inclusion until a curator resolves it with the
first value, the second or a third (a value other than the stored one updates the study).
Every write is an evidence version with an audit entry. Agreement per pair of extractors:
percent agreement over the compared fields and Cohen's kappa on the RoB domain judgements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.db.base import utc_now
from service.db.models import ExtractionDiscrepancy, StudyExtraction, StudyRevision
from service.db.repositories.evidence import AuditRepository
from service.db.repositories.extraction import ExtractionRepository
from service.db.repositories.studies import StudyRepository
from service.errors import ConflictError, NotFoundError
from service.schemas.extraction import (
    AgreementRead,
    DiscrepancyRead,
    ExtractionListRead,
    ExtractionRead,
    PairAgreementRead,
    ResolutionCreate,
    ResolutionWriteRead,
)
from service.schemas.studies import StudyCreate, StudyUpdate
from service.stats.agreement import cohens_kappa
from service.usecases.extraction.compare import compare, rob_judgements
from service.usecases.studies.evidence import WriteContext, lock_evidence, open_version
from service.usecases.studies.service import update_study
from service.usecases.studies.views import editable_fields
from service.usecases.studies.writes import study_etag

KAPPA_METHOD = (
    "percent agreement over the compared fields; Cohen's (1960) unweighted kappa on the RoB "
    "domain judgements both extractors made, (p_o - p_e) / (1 - p_e), null when p_e = 1"
)


def _audit(
    session: Session, context: WriteContext, version: int, action: str, resource: str, after: Any
) -> None:
    AuditRepository(session).insert_all([{
        "version_number": version, "created_at": utc_now(), "actor": context.actor,
        "action": action, "resource_type": resource, "resource_id": after.id,
        "request_id": context.request_id, "before": None, "after": after.model_dump(mode="json"),
    }])  # fmt: skip


def _current(session: Session, study_id: int) -> StudyRevision:
    revision = StudyRepository(session).revision(study_id)
    if revision is None:
        raise NotFoundError(f"There is no study {study_id}.")
    if revision.status == "withdrawn":
        raise ConflictError(f"Study {study_id} is withdrawn; withdrawn studies do not change.")
    return revision


def _first_body(revision: StudyRevision) -> dict[str, Any]:
    return StudyCreate.model_validate(editable_fields(revision)).model_dump(mode="json")


def _read(row: StudyExtraction, discrepancies: list[ExtractionDiscrepancy]) -> ExtractionRead:
    return ExtractionRead(
        id=row.id, study_id=row.study_id, first_actor=row.first_actor, actor=row.actor,
        created_at=row.created_at, evidence_version=row.version_number,
        compared_with_version=row.compared_with_version, compared_fields=row.compared_fields,
        differing_fields=row.differing_fields,
        discrepancies=[DiscrepancyRead.model_validate(d) for d in discrepancies],
    )  # fmt: skip


def submit_extraction(
    session: Session, study_id: int, body: StudyCreate, context: WriteContext
) -> ExtractionRead:
    """Store a second extraction by another key and open a discrepancy per differing field."""
    lock_evidence(session)
    revision = _current(session, study_id)
    first_actor = StudyRepository(session).submitter(study_id) or revision.extracted_by
    repository = ExtractionRepository(session)
    earlier = {e.actor for e in repository.extractions(study_id)}
    if context.actor == first_actor or context.actor in earlier:
        raise ConflictError(
            f"Study {study_id} was already extracted with this API key: a second extraction "
            "must be independent, by another key."
        )
    first, second = _first_body(revision), body.model_dump(mode="json")
    differences, compared = compare(first, second)
    one, two = rob_judgements(first), rob_judgements(second)
    version = open_version(session, context, "extraction")
    version.summary = f"Second extraction of study {study_id}: {len(differences)} discrepancies"
    row = StudyExtraction(
        study_id=study_id, version_number=version.number,
        compared_with_version=revision.valid_from, first_actor=first_actor, actor=context.actor,
        created_at=version.created_at, body=second, compared_fields=compared,
        differing_fields=len(differences),
        rob_pairs=[[one[k], two[k]] for k in one if k in two],
    )  # fmt: skip
    found = [
        ExtractionDiscrepancy(
            study_id=study_id,
            field=d.field,
            kind=d.kind,
            first_value=d.first,
            second_value=d.second,
            status="open",
        )
        for d in differences
    ]
    repository.add(row, found)
    read = _read(row, found)
    _audit(session, context, version.number, "extract", "extraction", read)
    return read


def list_extractions(session: Session, study_id: int) -> ExtractionListRead:
    """The study's second extractions, each with its discrepancies side by side."""
    if StudyRepository(session).revision(study_id) is None:
        raise NotFoundError(f"There is no study {study_id}.")
    repository = ExtractionRepository(session)
    discrepancies = repository.discrepancies(study_id)
    items = [
        _read(row, [d for d in discrepancies if d.extraction_id == row.id])
        for row in repository.extractions(study_id)
    ]
    open_count = sum(d.status == "open" for d in discrepancies)
    return ExtractionListRead(items=items, open_discrepancies=open_count)


def _path(field: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in field.split(".")]


def _set(fields: dict[str, Any], field: str, value: Any) -> Any:
    """Set ``field`` in ``fields``; the value it had (KeyError/IndexError when absent)."""
    *parents, last = _path(field)
    node: Any = fields
    for part in parents:
        node = node[part]
        if node is None:
            raise KeyError(field)
    old = node[last]
    node[last] = value
    return old


def _apply(
    session: Session, study_id: int, field: str, value: Any, context: WriteContext
) -> int | None:
    """Write ``value`` into the study when it differs; the update's version, or None."""
    revision = _current(session, study_id)
    fields = editable_fields(revision)
    try:
        old = _set(fields, field, value)
    except (KeyError, IndexError, TypeError) as exc:
        # A well-formed request that the study's current state cannot take: a 409 (RFC 9110,
        # 15.5.10), not a 422 (issue 25).
        raise ConflictError(
            f"The study no longer has the field {field}; change it with PATCH instead.",
            extra={"errors": [{"field": "choice", "message": f"no field {field} in the study"}]},
        ) from exc
    if old == value:
        return None
    top = field.split(".", 1)[0]
    patch = StudyUpdate.model_validate({top: fields[top]})
    etag = study_etag(study_id, revision.valid_from)
    result = update_study(session, study_id, patch, context, if_match=etag)
    return result.evidence_version if result.changed else None


def resolve_discrepancy(
    session: Session,
    study_id: int,
    discrepancy_id: int,
    body: ResolutionCreate,
    context: WriteContext,
) -> ResolutionWriteRead:
    """Keep one value for a discrepancy (curate scope); a new value updates the study."""
    lock_evidence(session)
    row = ExtractionRepository(session).discrepancy(study_id, discrepancy_id)
    if row is None:
        raise NotFoundError(f"Study {study_id} has no discrepancy {discrepancy_id}.")
    if row.status == "resolved":
        raise ConflictError(f"Discrepancy {discrepancy_id} is already resolved.")
    kept = {"first": row.first_value, "second": row.second_value}.get(body.choice, body.value)
    updated = _apply(session, study_id, row.field, kept, context)
    number = updated
    if number is None:
        version = open_version(session, context, "extraction")
        version.summary = f"Resolved discrepancy {discrepancy_id} of study {study_id}"
        number = version.number
    row.status, row.resolution, row.resolved_value = "resolved", body.choice, kept
    row.resolved_by, row.reason, row.resolved_version = context.actor, body.reason, number
    session.flush()
    read = DiscrepancyRead.model_validate(row)
    _audit(session, context, number, "resolve", "discrepancy", read)
    return ResolutionWriteRead(
        evidence_version=number, discrepancy=read, study_updated=updated is not None
    )


def agreement(session: Session) -> AgreementRead:
    """Percent agreement and Cohen's kappa per pair of extractors (unordered)."""
    pairs: dict[tuple[str, str], list[StudyExtraction]] = {}
    for row in ExtractionRepository(session).all_extractions():
        key = (row.first_actor, row.actor)
        pairs.setdefault((min(key), max(key)), []).append(row)
    return AgreementRead(
        items=[_pair(a, b, rows) for (a, b), rows in sorted(pairs.items())], method=KAPPA_METHOD
    )


def _pair(a: str, b: str, rows: list[StudyExtraction]) -> PairAgreementRead:
    first, second = [], []
    for row in rows:
        swap = row.first_actor != a
        for one, two in row.rob_pairs:
            first.append(two if swap else one)
            second.append(one if swap else two)
    rob = cohens_kappa(first, second)
    compared = sum(r.compared_fields for r in rows)
    agreed = compared - sum(r.differing_fields for r in rows)
    return PairAgreementRead(
        first_actor=a, second_actor=b, extractions=len(rows), fields_compared=compared,
        fields_agreed=agreed, percent_agreement=100.0 * agreed / compared if compared else None,
        rob_judgements=rob.n, rob_percent_agreement=rob.percent, rob_kappa=rob.kappa,
    )  # fmt: skip


def open_discrepancies(session: Session, study_ids: list[int]) -> dict[int, list[DiscrepancyRead]]:
    """The open discrepancies of each study (for the curation queue's side-by-side view)."""
    found = ExtractionRepository(session).open_by_study(study_ids)
    return {sid: [DiscrepancyRead.model_validate(r) for r in rows] for sid, rows in found.items()}
