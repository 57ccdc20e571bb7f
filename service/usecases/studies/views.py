"""Conversions between stored studies and the API's schemas.

``study_read`` shows a revision as the API returns it (``new_study_read`` a study inserted in
bulk); ``new_rows``, ``new_revision`` and ``copy_revision`` build the rows of a revision to
store; ``editable_fields`` turns a revision back into the
fields a client can send, which is what an update is merged into.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from service.db.models import OutcomeResult, Study, StudyArm, StudyRevision
from service.db.repositories.studies import NewStudyRows
from service.schemas.risk_of_bias import READ_ONLY_FIELDS, risk_of_bias_read
from service.schemas.studies import StudyRead
from service.usecases.studies.rules import PreparedResult, PreparedStudy

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


# Reads one column value, from an ORM object (getattr) or from rows about to be inserted.
_Get = Callable[[str], Any]


def _descriptive(get: _Get) -> dict[str, Any]:
    values = {name: get(name) for name in _PLAIN}
    values.update({api: get(column) for column, api in _RENAMED.items()})
    values["tags"] = list(get("tags"))
    return values


def _source(get: _Get) -> dict[str, Any]:
    return {
        "extracted_by": get("extracted_by"),
        "document": get("source_document"),
        "location": get("source_location"),
    }


def _cluster(get: _Get) -> dict[str, Any] | None:
    icc, size = get("icc"), get("mean_cluster_size")
    if icc is None or size is None:
        return None
    accounted = bool(get("reported_accounts_for_clustering"))
    return {"icc": icc, "mean_cluster_size": size, "reported_accounts_for_clustering": accounted}


def _result_fields(get: _Get, arms: tuple[str, str]) -> dict[str, Any]:
    return {
        "outcome": get("outcome_slug"),
        "instrument": get("instrument_slug"),
        "timepoint": {"weeks": get("timepoint_weeks"), "label": get("timepoint_label")},
        "intervention_arm": arms[0],
        "control_arm": arms[1],
        "data": get("reported"),
        "cluster": _cluster(get),
        "source_location": get("source_location"),
        "effect": {
            "yi": get("yi"),
            "vi": get("vi"),
            "sign_flipped": get("sign_flipped"),
            "conversion": get("conversion"),
            "engine_version": get("engine_version"),
            "estimated": get("estimated"),
        },
        "data_warnings": list(get("data_warnings")),
        "risk_of_bias": risk_of_bias_read(get("risk_of_bias")),
    }


def _arm_labels(result: OutcomeResult, labels: dict[int, str]) -> tuple[str, str]:
    if result.id is None:
        # Rows just built (not yet flushed) have no arm ids; their arm objects are at hand.
        return result.intervention_arm.label, result.control_arm.label
    return labels[result.intervention_arm_id], labels[result.control_arm_id]


def _read(
    get: _Get,
    *,
    study: dict[str, Any],
    arms: list[dict[str, Any]],
    results: list[dict[str, Any]],
) -> StudyRead:
    return StudyRead.model_validate(
        {
            **study,
            **_descriptive(get),
            "source": _source(get),
            "status": get("status"),
            "status_reason": get("status_reason"),
            "arms": arms,
            "outcome_results": results,
            "valid_from": get("valid_from"),
            "valid_to": get("valid_to"),
        }
    )


def _arm_fields(get: _Get) -> dict[str, Any]:
    return {"label": get("label"), "role": get("role"), "n_randomized": get("n_randomized")}


def study_read(revision: StudyRevision) -> StudyRead:
    """The API's view of ``revision`` (its study, arms and results must be loaded)."""
    labels = {arm.id: arm.label for arm in revision.arms if arm.id is not None}
    study = revision.study
    return _read(
        partial(getattr, revision),
        study={
            "id": study.id,
            "created_at": study.created_at,
            "created_version": study.created_version,
        },
        arms=[_arm_fields(partial(getattr, arm)) for arm in revision.arms],
        results=[
            _result_fields(partial(getattr, r), _arm_labels(r, labels))
            for r in revision.outcome_results
        ],
    )


def new_study_read(
    rows: NewStudyRows, *, study_id: int, created_at: datetime, created_version: int
) -> StudyRead:
    """The API's view of a study just inserted from ``rows`` (as :func:`study_read` of it)."""
    labels = [arm["label"] for arm in rows.arms]
    return _read(
        rows.revision.__getitem__,
        study={"id": study_id, "created_at": created_at, "created_version": created_version},
        arms=[_arm_fields(arm.__getitem__) for arm in rows.arms],
        results=[
            _result_fields(result.__getitem__, (labels[i], labels[c]))
            for result, (i, c) in zip(rows.results, rows.result_arms, strict=True)
        ],
    )


def editable_fields(revision: StudyRevision) -> dict[str, Any]:
    """``revision`` as the body of a :class:`~service.schemas.studies.StudyCreate`."""
    read = study_read(revision)
    return {
        **_descriptive(partial(getattr, revision)),
        "source": _source(partial(getattr, revision)),
        "arms": [arm.model_dump() for arm in read.arms],
        "outcome_results": [
            result.model_dump(
                exclude={"effect": True, "data_warnings": True, "risk_of_bias": READ_ONLY_FIELDS}
            )
            for result in read.outcome_results
        ],
    }


def _result_values(index: int, item: PreparedResult) -> dict[str, Any]:
    result, effect = item.result, item.effect
    return {
        "position": index,
        "outcome_slug": result.outcome,
        "instrument_slug": result.instrument,
        "timepoint_weeks": result.timepoint.weeks,
        "timepoint_label": result.timepoint.label,
        "form": result.data.form,
        "reported": result.data.model_dump(mode="json"),
        "icc": result.cluster.icc if result.cluster else None,
        "mean_cluster_size": result.cluster.mean_cluster_size if result.cluster else None,
        "reported_accounts_for_clustering": (
            result.cluster.reported_accounts_for_clustering if result.cluster else None
        ),
        "source_location": result.source_location,
        "yi": effect.yi,
        "vi": effect.vi,
        "sign_flipped": effect.sign_flipped,
        "conversion": effect.conversion,
        "engine_version": effect.engine_version,
        "estimated": effect.estimated,
        "data_warnings": [dict(w) for w in item.warnings],
        "risk_of_bias": (
            result.risk_of_bias.model_dump(mode="json") if result.risk_of_bias else None
        ),
    }


def new_rows(
    prepared: PreparedStudy, *, valid_from: int, status: str, reason: str | None
) -> NewStudyRows:
    """The column values of a revision holding ``prepared``."""
    body = prepared.study
    position = {arm.label: index for index, arm in enumerate(body.arms)}
    return NewStudyRows(
        revision={
            "valid_from": valid_from,
            "valid_to": None,
            **{column: getattr(body, api) for column, api in _RENAMED.items()},
            **{name: getattr(body, name) for name in _PLAIN},
            "extracted_by": body.source.extracted_by,
            "source_document": body.source.document,
            "source_location": body.source.location,
            "tags": list(body.tags),
            "status": status,
            "status_reason": reason,
        },
        arms=[
            {"position": i, "label": a.label, "role": a.role, "n_randomized": a.n_randomized}
            for i, a in enumerate(body.arms)
        ],
        results=[_result_values(i, item) for i, item in enumerate(prepared.results)],
        result_arms=[
            (position[item.intervention_arm], position[item.control_arm])
            for item in prepared.results
        ],
    )


def new_revision(
    prepared: PreparedStudy, *, study: Study, valid_from: int, status: str, reason: str | None
) -> StudyRevision:
    """The rows of a revision holding ``prepared`` (not yet added to a session)."""
    rows = new_rows(prepared, valid_from=valid_from, status=status, reason=reason)
    arms = [StudyArm(**values) for values in rows.arms]
    results = [
        OutcomeResult(**values, intervention_arm=arms[i], control_arm=arms[c])
        for values, (i, c) in zip(rows.results, rows.result_arms, strict=True)
    ]
    return StudyRevision(study=study, **rows.revision, arms=arms, outcome_results=results)


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
