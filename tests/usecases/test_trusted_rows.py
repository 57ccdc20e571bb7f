"""Rows built without validation (service.schemas.common.trusted) equal validated ones.

A pooled answer's study list is built with :func:`trusted` for speed; these tests build the
same rows the way they were built before (validated from the engine's values,
numpy numbers and all) and compare them field by field, type by type and byte by byte.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from service.schemas.analyses import EffectRead
from service.schemas.common import trusted
from service.schemas.pooled import PooledStudyRead
from service.stats.models import fit_random_effects
from service.stats.narrative import effect_intervals
from service.usecases.analyses.numbers import finite
from service.usecases.analyses.service import effect_rows
from service.usecases.pooled.analysis import analyse_outcome
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import PooledSpec
from tests.usecases.effects_support import STUDY_EFFECT

BASE = STUDY_EFFECT
WARNING = {"code": "sd-looks-like-se", "level": "warning", "field": "sd", "message": "small"}
OLD_WARNING = {"field": "sd", "message": "stored before codes existed"}
DOMAINS = (("randomization", "low"), ("deviations", "some_concerns"))


def effects() -> list[StudyEffect]:
    """Studies with what a row can hold: numpy numbers, a whole-number timepoint, warnings
    old and new, risk of bias with and without domains, several instruments."""
    return [
        BASE,
        replace(BASE, study_id=2, yi=np.float64(-0.12), vi=np.float64(0.031), year=2017),
        replace(BASE, study_id=3, timepoint_weeks=26, data_warnings=(WARNING, OLD_WARNING)),
        replace(
            BASE,
            study_id=4,
            risk_of_bias="high",
            risk_of_bias_tool="rob2",
            risk_of_bias_domains=DOMAINS,
            category="one-to-one",
        ),
        replace(
            BASE,
            study_id=5,
            risk_of_bias="low",
            risk_of_bias_tool="rob1",
            yi=0.0,
            instruments=("a-scale", "b-scale"),
            participants=np.int64(120),
        ),
        replace(BASE, study_id=6, yi=1e-7, vi=2.5e-5, category="one-to-one"),
    ]


def validated_studies(
    rows: list[StudyEffect], weights: list[float | None], level: float
) -> list[PooledStudyRead]:
    """The study list as it was built before: each row validated from the engine's values."""
    intervals = effect_intervals([e.yi for e in rows], [e.vi for e in rows], level=level)
    return [
        PooledStudyRead(
            study_id=e.study_id,
            label=e.label,
            year=e.year,
            category=e.category,
            design=e.design,
            comparator=e.comparator,
            quality=e.quality,
            timepoint_weeks=e.timepoint_weeks,
            timepoint_label=e.timepoint_label,
            instruments=list(e.instruments),
            participants=e.participants,
            yi=e.yi,
            vi=e.vi,
            ci_lower=float(lower),
            ci_upper=float(upper),
            weight=weight,
            data_warnings=[dict(w) for w in e.data_warnings],
            risk_of_bias=e.risk_of_bias,
            risk_of_bias_tool=e.risk_of_bias_tool,
            risk_of_bias_domains=dict(e.risk_of_bias_domains) if e.risk_of_bias else {},
        )
        for e, weight, lower, upper in zip(
            rows, weights, intervals.lower, intervals.upper, strict=True
        )
    ]


def assert_same(built: Any, expected: Any) -> None:
    assert built == expected
    assert built.model_fields_set == expected.model_fields_set
    assert built.model_dump_json(exclude_unset=True) == expected.model_dump_json(exclude_unset=True)
    for name in type(expected).model_fields:
        assert type(getattr(built, name)) is type(getattr(expected, name)), name


@pytest.mark.parametrize("k", [6, 3])  # pooled, and narrative (no weights)
def test_a_pooled_answers_studies_are_the_validated_rows(k: int) -> None:
    rows = effects()[:k]
    spec = PooledSpec(outcome="empowerment", min_k=4)
    answer = analyse_outcome(rows, spec, version=3)
    weights = [s.weight for s in answer.studies]
    assert (weights[0] is None) == (k < 4)
    expected = validated_studies(rows, weights, spec.level)
    assert len(answer.studies) == len(expected)
    for built, wanted in zip(answer.studies, expected, strict=True):
        assert_same(built, wanted)
        for warning, wanted_warning in zip(built.data_warnings, wanted.data_warnings, strict=True):
            assert_same(warning, wanted_warning)


def test_trusted_needs_every_field() -> None:
    with pytest.raises(TypeError, match="EffectRead needs exactly its fields"):
        trusted(EffectRead, {"label": "a", "yi": 0.1, "vi": 0.2})


def test_an_answers_effect_rows_are_the_validated_rows() -> None:
    rows = effects()
    fit = fit_random_effects([e.yi for e in rows], [e.vi for e in rows])
    labels = tuple(e.label for e in rows)
    built = effect_rows(labels, fit)
    expected = [
        EffectRead(label=label, yi=float(y), vi=float(v), weight=finite(w))
        for label, y, v, w in zip(labels, fit.yi, fit.vi, fit.weights_percent, strict=True)
    ]
    for row, wanted in zip(built, expected, strict=True):
        assert_same(row, wanted)


def test_effect_rows_without_a_defined_weight_are_null() -> None:
    fit = replace(
        fit_random_effects([0.1, 0.2, 0.3], [0.01, 0.02, 0.03]), weights=np.array([np.nan] * 3)
    )
    rows = effect_rows(("a", "b", "c"), fit)
    assert [r.weight for r in rows] == [None, None, None]
    assert_same(rows[0], EffectRead(label="a", yi=0.1, vi=0.01, weight=None))


def test_a_trusted_row_behaves_as_a_validated_one() -> None:
    fields = {"label": "a", "yi": 0.1, "vi": 0.2, "weight": 50.0}
    row, validated = trusted(EffectRead, dict(fields)), EffectRead(**fields)
    assert row.__pydantic_extra__ is None
    assert row.__pydantic_private__ is None
    with pytest.raises(ValidationError, match="frozen"):
        row.yi = 0.3  # type: ignore[misc]
    copied = row.model_copy(update={"weight": None})
    assert copied == validated.model_copy(update={"weight": None})
    assert copied.model_fields_set == validated.model_fields_set
    assert row.model_dump() == fields
