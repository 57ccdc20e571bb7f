"""The reported forms of issue 12 and cluster trials, against metafor 3.8-1.

Reference numbers: tests/stats/reference/reported_forms/reported_forms.json, written by the R
script beside it (``Rscript tests/stats/reference/reported_forms/reported_forms.R``). Medians go
through formulas written out in R (metafor 3.8-1 has no conv.fivenum); all else through escalc.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from scipy import stats

from service.schemas.reported import ReportedData
from service.schemas.studies import ClusterDesign
from service.usecases.studies.effect_sizes import DerivedEffect, derive_effect

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "stats/reference/reported_forms/reported_forms.json").read_text()
)
REPORTED: TypeAdapter[ReportedData] = TypeAdapter(ReportedData)
REL = 1e-6


def _derive(cluster: ClusterDesign | None = None, **fields: Any) -> DerivedEffect:
    return derive_effect(REPORTED.validate_python(fields), higher_is_better=True, cluster=cluster)


def _matches(effect: DerivedEffect, reference: dict[str, Any], index: int) -> None:
    assert effect.yi == pytest.approx(reference["yi"][index], rel=REL)
    assert effect.vi == pytest.approx(reference["vi"][index], rel=REL)


@pytest.mark.parametrize("index", [0, 1])
def test_means_with_standard_errors(index: int) -> None:
    reference = REFERENCE["means_se"]
    row = {name: values[index] for name, values in reference["input"].items()}
    effect = _derive(
        form="means_se",
        intervention={"mean": row["m1"], "se": row["se1"], "n": row["n1"]},
        control={"mean": row["m2"], "se": row["se2"], "n": row["n2"]},
    )
    _matches(effect, reference, index)
    assert (effect.conversion, effect.estimated) == ("smd_from_means_se", False)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_mean_difference_with_its_se_or_ci(index: int) -> None:
    reference = REFERENCE["mean_difference"]
    row = {name: values[index] for name, values in reference["input"].items()}
    spread = (
        {"se": row["se"]}
        if row["se"] is not None
        else {"ci_lower": row["lo"], "ci_upper": row["hi"], "ci_level": row["level"]}
    )
    effect = _derive(
        form="mean_difference",
        mean_difference=row["md"],
        n_intervention=row["n1"],
        n_control=row["n2"],
        **spread,
    )
    _matches(effect, reference, index)


def test_ancova_difference_enters_as_a_difference_and_is_flagged_estimated() -> None:
    reference = REFERENCE["mean_difference"]
    effect = _derive(
        form="ancova", adjusted_mean_difference=0.15, se=0.0745, n_intervention=60, n_control=60
    )
    _matches(effect, reference, 0)
    assert (effect.conversion, effect.estimated) == ("smd_from_ancova", True)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_p_and_p_bound(index: int) -> None:
    reference = REFERENCE["p"]
    row = {name: values[index] for name, values in reference["input"].items()}
    common = {
        "favours": "intervention" if row["sign"] > 0 else "control",
        "n_intervention": row["n1"],
        "n_control": row["n2"],
    }
    exact = _derive(form="p", p=row["p"], **common)
    bound = _derive(form="p_bound", p_below=row["p"], **common)
    _matches(exact, reference, index)
    # At the bound the numbers are those of the exact p; only the flag says they understate.
    assert (bound.yi, bound.vi) == (exact.yi, exact.vi)
    assert (bound.conversion, bound.estimated, exact.estimated) == ("smd_from_p_bound", True, False)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_dichotomised_scale_by_the_logit_method(index: int) -> None:
    reference = REFERENCE["dichotomous"]
    row = {name: values[index] for name, values in reference["input"].items()}
    effect = _derive(
        form="dichotomous",
        intervention={"events": row["ai"], "total": row["n1"]},
        control={"events": row["ci"], "total": row["n2"]},
    )
    _matches(effect, reference, index)
    assert (effect.conversion, effect.estimated) == ("smd_from_or2dl", True)


def _median_arm(arms: dict[str, list[Any]], row: int) -> dict[str, Any]:
    names = {"min": "minimum", "q1": "q1", "median": "median", "q3": "q3", "max": "maximum"}
    arm = {api: arms[r][row] for r, api in names.items() if arms[r][row] is not None}
    return {**arm, "n": arms["n"][row]}


@pytest.mark.parametrize("index", [0, 1, 2])  # range only, IQR only, all five numbers
def test_medians_with_iqr_and_or_range(index: int) -> None:
    reference = REFERENCE["medians"]
    arms = reference["arms"]
    effect = _derive(
        form="medians",
        intervention=_median_arm(arms, 2 * index),
        control=_median_arm(arms, 2 * index + 1),
    )
    _matches(effect, reference, index)
    assert (effect.conversion, effect.estimated) == ("smd_from_medians", True)


# --------------------------------------------- one cluster trial in every form (Handbook 23.1.4)
CLUSTER = ClusterDesign(icc=0.05, mean_cluster_size=11)  # design effect 1.5
T = 2.0033  # the t the means give, rounded as a paper would print it
NS = {"n_intervention": 60, "n_control": 60}


def _every_form(cluster: ClusterDesign) -> dict[str, DerivedEffect]:
    means = _derive(
        cluster,
        form="means",
        intervention={"mean": 2.85, "sd": 0.40, "n": 60},
        control={"mean": 2.70, "sd": 0.42, "n": 60},
    )
    # The effect with the CI a paper would print when it ignored clustering (variance / 1.5).
    half = 1.959964 * math.sqrt(means.vi / 1.5)
    p = float(2 * stats.t.sf(T, 118))
    return {
        "means": means,
        "t": _derive(cluster, form="t", t=T, **NS),
        "f": _derive(cluster, form="f", f=T**2, df=118, favours="intervention", **NS),
        "p": _derive(cluster, form="p", p=round(p, 5), favours="intervention", **NS),
        "effect_ci": _derive(
            cluster,
            form="effect_ci",
            effect=round(means.yi, 4),
            ci_lower=round(means.yi - half, 4),
            ci_upper=round(means.yi + half, 4),
            positive_favours_intervention=True,
        ),
    }


def test_one_cluster_trial_gives_one_g_in_every_form() -> None:
    reference = REFERENCE["cluster"]
    effects = _every_form(CLUSTER)
    assert effects["means"].yi == pytest.approx(reference["yi"], rel=REL)
    assert effects["means"].vi == pytest.approx(reference["vi"], rel=REL)
    for form, effect in effects.items():
        # The same g, and variances that agree to the rounding of the reported figures.
        assert effect.yi == pytest.approx(reference["yi"], rel=5e-4), form
        assert effect.vi == pytest.approx(reference["vi"], rel=5e-4), form


def test_statistics_that_accounted_for_clustering_give_the_same_effect() -> None:
    reference = REFERENCE["cluster"]
    accounted = ClusterDesign(icc=0.05, mean_cluster_size=11, reported_accounts_for_clustering=True)
    adjusted_t = T / math.sqrt(1.5)  # what a multilevel analysis of the same data reports
    effect = _derive(accounted, form="t", t=adjusted_t, **NS)
    assert effect.yi == pytest.approx(reference["yi"], rel=5e-4)
    assert effect.vi == pytest.approx(reference["vi"], rel=5e-4)
    # An effect whose CI already allows for clustering is taken as reported.
    se = math.sqrt(reference["vi"])
    ci = _derive(
        accounted,
        form="effect_ci",
        effect=reference["yi"],
        ci_lower=reference["yi"] - 1.959963984540054 * se,
        ci_upper=reference["yi"] + 1.959963984540054 * se,
        positive_favours_intervention=True,
    )
    assert ci.vi == pytest.approx(reference["vi"], rel=1e-9)
