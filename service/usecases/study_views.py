"""Conversions between stored studies and the API's schemas.

``study_read`` shows a revision as the API returns it; ``new_revision`` and ``copy_revision``
build the rows of a revision to store; ``editable_fields`` turns a revision back into the
fields a client can send, which is what an update is merged into.
"""

from __future__ import annotations

from typing import Any

from service.db.models import OutcomeResult, Study, StudyArm, StudyRevision
from service.schemas.studies import StudyRead
from service.usecases.study_rules import PreparedResult, PreparedStudy

# Columns whose names differ from the API's field names.
_RENAMED = {
    "design_slug": "design",
    "category_slug": "category",
    "comparator_slug": "comparator",
    "quality_rating_slug": "quality_rating",
}
_PLAIN = (
    "title",
    "authors",
    "year",
    "doi",
    "pmid",
    "registration_id",
    "country",
    "intervention_name",
    "intervention_description",
    "comparator_description",
    "population",
    "setting",
    "total_randomized",
    "quality_appraisal",
)


def _descriptive(revision: StudyRevision) -> dict[str, Any]:
    values = {name: getattr(revision, name) for name in _PLAIN}
    values.update({api: getattr(revision, column) for column, api in _RENAMED.items()})
    values["tags"] = list(revision.tags)
    return values


def _source(revision: StudyRevision) -> dict[str, Any]:
    return {
        "extracted_by": revision.extracted_by,
        "document": revision.source_document,
        "location": revision.source_location,
    }


def _cluster(result: OutcomeResult) -> dict[str, float] | None:
    if result.icc is None or result.mean_cluster_size is None:
        return None
    return {"icc": result.icc, "mean_cluster_size": result.mean_cluster_size}


def _label(arm: StudyArm | None, arm_id: int, labels: dict[int, str]) -> str:
    # Rows just built (not yet flushed) have no arm ids; their arm objects are at hand instead.
    return labels[arm_id] if arm is None else arm.label


def _result_fields(result: OutcomeResult, labels: dict[int, str]) -> dict[str, Any]:
    pending = result.id is None
    return {
        "outcome": result.outcome_slug,
        "instrument": result.instrument_slug,
        "timepoint": {"weeks": result.timepoint_weeks, "label": result.timepoint_label},
        "intervention_arm": _label(
            result.intervention_arm if pending else None, result.intervention_arm_id, labels
        ),
        "control_arm": _label(
            result.control_arm if pending else None, result.control_arm_id, labels
        ),
        "data": result.reported,
        "cluster": _cluster(result),
        "source_location": result.source_location,
        "effect": {
            "yi": result.yi,
            "vi": result.vi,
            "sign_flipped": result.sign_flipped,
            "conversion": result.conversion,
            "engine_version": result.engine_version,
        },
    }


def study_read(revision: StudyRevision) -> StudyRead:
    """The API's view of ``revision`` (its study, arms and results must be loaded)."""
    labels = {arm.id: arm.label for arm in revision.arms if arm.id is not None}
    study = revision.study
    return StudyRead.model_validate(
        {
            "id": study.id,
            **_descriptive(revision),
            "source": _source(revision),
            "status": revision.status,
            "status_reason": revision.status_reason,
            "arms": [
                {"label": a.label, "role": a.role, "n_randomized": a.n_randomized}
                for a in revision.arms
            ],
            "outcome_results": [_result_fields(r, labels) for r in revision.outcome_results],
            "created_at": study.created_at,
            "created_version": study.created_version,
            "valid_from": revision.valid_from,
            "valid_to": revision.valid_to,
        }
    )


def editable_fields(revision: StudyRevision) -> dict[str, Any]:
    """``revision`` as the body of a :class:`~service.schemas.studies.StudyCreate`."""
    read = study_read(revision)
    return {
        **_descriptive(revision),
        "source": _source(revision),
        "arms": [arm.model_dump() for arm in read.arms],
        "outcome_results": [
            result.model_dump(exclude={"effect"}) for result in read.outcome_results
        ],
    }


def _arm_rows(prepared: PreparedStudy) -> dict[str, StudyArm]:
    return {
        arm.label: StudyArm(
            position=index, label=arm.label, role=arm.role, n_randomized=arm.n_randomized
        )
        for index, arm in enumerate(prepared.study.arms)
    }


def _result_row(index: int, item: PreparedResult, arms: dict[str, StudyArm]) -> OutcomeResult:
    result, effect = item.result, item.effect
    return OutcomeResult(
        position=index,
        outcome_slug=result.outcome,
        instrument_slug=result.instrument,
        timepoint_weeks=result.timepoint.weeks,
        timepoint_label=result.timepoint.label,
        intervention_arm=arms[item.intervention_arm],
        control_arm=arms[item.control_arm],
        form=result.data.form,
        reported=result.data.model_dump(mode="json"),
        icc=result.cluster.icc if result.cluster else None,
        mean_cluster_size=result.cluster.mean_cluster_size if result.cluster else None,
        source_location=result.source_location,
        yi=effect.yi,
        vi=effect.vi,
        sign_flipped=effect.sign_flipped,
        conversion=effect.conversion,
        engine_version=effect.engine_version,
    )


def new_revision(
    prepared: PreparedStudy, *, study: Study, valid_from: int, status: str, reason: str | None
) -> StudyRevision:
    """The rows of a revision holding ``prepared`` (not yet added to a session)."""
    body = prepared.study
    arms = _arm_rows(prepared)
    return StudyRevision(
        study=study,
        valid_from=valid_from,
        **{column: getattr(body, api) for column, api in _RENAMED.items()},
        **{name: getattr(body, name) for name in _PLAIN},
        extracted_by=body.source.extracted_by,
        source_document=body.source.document,
        source_location=body.source.location,
        tags=list(body.tags),
        status=status,
        status_reason=reason,
        arms=list(arms.values()),
        outcome_results=[_result_row(i, item, arms) for i, item in enumerate(prepared.results)],
    )


_REVISION_COLUMNS = tuple(
    column.name
    for column in StudyRevision.__table__.columns
    if column.name not in {"id", "study_id", "valid_from", "valid_to", "status", "status_reason"}
)
_RESULT_COLUMNS = tuple(
    column.name
    for column in OutcomeResult.__table__.columns
    if column.name not in {"id", "revision_id", "intervention_arm_id", "control_arm_id"}
)


def copy_revision(
    revision: StudyRevision, *, valid_from: int, status: str, reason: str | None
) -> StudyRevision:
    """A copy of ``revision`` with a new status, arms and results included (effects as stored)."""
    arms = {
        arm.id: StudyArm(
            position=arm.position, label=arm.label, role=arm.role, n_randomized=arm.n_randomized
        )
        for arm in revision.arms
    }
    results = [
        OutcomeResult(
            **{name: getattr(result, name) for name in _RESULT_COLUMNS},
            intervention_arm=arms[result.intervention_arm_id],
            control_arm=arms[result.control_arm_id],
        )
        for result in revision.outcome_results
    ]
    return StudyRevision(
        study=revision.study,
        valid_from=valid_from,
        **{name: getattr(revision, name) for name in _REVISION_COLUMNS},
        status=status,
        status_reason=reason,
        arms=list(arms.values()),
        outcome_results=results,
    )
