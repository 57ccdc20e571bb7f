"""The Metapsy peer-support database, imported through the API, pooled as the engine pools it.

Reads the bundled ``service/data/metapsy/metapsy-peer-support.csv`` (the published file; Metapsy
data standard: ``;``-separated, decimal commas, ``NA`` for missing; DOI 10.5281/zenodo.7687898),
imports it through ``POST /v1/imports?format=metapsy`` (which keeps the empowerment and
self-efficacy rows) and checks the result against the engine on the same rows.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.stats.effect_sizes import smd_from_means
from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.heterogeneity import heterogeneity_intervals
from service.stats.models import fit_random_effects
from service.usecases.analyses.service import core_fields
from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import METAPSY_FILE, post_import
from tests.api.pooled_support import pooled
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

DATA = METAPSY_FILE
SUBCATEGORIES = {"Empowerment/Self-efficacy", "Self-efficacy"}
# Metapsy instrument -> (our outcome, our instrument), as the importer maps them
INSTRUMENTS = {
    "Boston Empowerment Scale": ("empowerment", "boston-empowerment-scale"),
    "Dutch Empowerment Scale": ("empowerment", "dutch-empowerment-scale"),
    "Empowerment Scale": ("empowerment", "empowerment-scale"),
    "Empowerment Scale -Power-powerlessness subscale": ("empowerment", "empowerment-scale-power"),
    "Mental Health Confidence Scale -total score": (
        "self-efficacy",
        "mental-health-confidence-scale",
    ),
    "General Self-Efficacy Scale (GSE)": ("self-efficacy", "general-self-efficacy-scale"),
}
QUALITY = {"strong", "moderate", "weak"}


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        selected = [
            row
            for row in csv.DictReader(handle, delimiter=";")
            if row["outcome_subcategory"] in SUBCATEGORIES
        ]
    assert {row["instrument"] for row in selected} <= set(INSTRUMENTS), "unmapped instrument"
    return selected


def _engine(rows: list[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    def column(name: str) -> np.ndarray:
        return np.array([_number(row[name]) for row in rows])

    effects = smd_from_means(
        column("n_arm1"), column("mean_arm1"), column("sd_arm1"),
        column("n_arm2"), column("mean_arm2"), column("sd_arm2"),
    )  # fmt: skip
    return effects.yi, effects.vi


@pytest.fixture
def imported(client: TestClient, make_key: MakeKey, auth: Auth, rows: list[dict]) -> None:
    text = DATA.read_text(encoding="utf-8")
    response = post_import(client, Actors(make_key, auth).curator, text, fmt="metapsy")
    assert response.status_code == 201, response.text


def _of(rows: list[dict[str, str]], outcome: str) -> list[dict[str, str]]:
    chosen = [row for row in rows if INSTRUMENTS[row["instrument"]][0] == outcome]
    return sorted(chosen, key=lambda row: int(row["year"]))  # the service orders by year


@pytest.mark.usefixtures("imported")
def test_empowerment_is_pooled_as_the_engine_pools_the_same_rows(
    client: TestClient, rows: list[dict[str, str]]
) -> None:
    chosen = _of(rows, "empowerment")
    yi, vi = _engine(chosen)
    answer = pooled(client, "empowerment")

    assert answer["status"] == "pooled"
    assert answer["k"] == len(chosen) == 4
    np.testing.assert_allclose([s["yi"] for s in answer["studies"]], yi, rtol=1e-12)
    np.testing.assert_allclose([s["vi"] for s in answer["studies"]], vi, rtol=1e-12)
    # The importer kept Metapsy's direction: our g is their precomputed g.
    np.testing.assert_allclose(yi, [_number(row[".g"]) for row in chosen], atol=0.005)

    # REML with Hartung-Knapp-Sidik-Jonkman intervals: the review's default.
    fit = fit_random_effects(yi, vi, estimator=Tau2Estimator.REML, ci_method=CiMethod.HKSJ)
    expected = core_fields(fit, heterogeneity_intervals(fit))
    got = answer["result"]
    for name, value in expected.items():
        assert _close(got[name], value), name


def _close(got: Any, expected: Any) -> bool:
    """Numbers to 1e-10 (relative); intervals element by element; anything else exactly."""
    if isinstance(expected, tuple):
        return all(_close(g, e) for g, e in zip(got, expected, strict=True))
    if isinstance(expected, float):
        return bool(got == pytest.approx(expected, rel=1e-10, abs=1e-12))
    return bool(got == expected)


@pytest.mark.usefixtures("imported")
def test_self_efficacy_has_too_few_trials_and_is_narrated(
    client: TestClient, rows: list[dict[str, str]]
) -> None:
    chosen = _of(rows, "self-efficacy")
    yi, _ = _engine(chosen)
    answer = pooled(client, "self-efficacy")

    assert answer["status"] == "insufficient_evidence"
    assert answer["k"] == len(chosen) == 2
    np.testing.assert_allclose([s["yi"] for s in answer["studies"]], yi, rtol=1e-12)
    directions = answer["narrative"]["directions"]
    assert directions["favours_intervention"] == int((yi > 0).sum())
    assert directions["favours_control"] == int((yi < 0).sum())
    assert {s["quality"] for s in answer["studies"]} <= QUALITY
