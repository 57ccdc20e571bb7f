"""Exports: pooled answers as CSV and as an R script that metafor runs to the same numbers,
the study list as CSV, and the round trip of a study set through CSV into an empty database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import (
    csv_rows,
    empty_app,
    headline,
    newest_version,
    post_import,
    without_ids,
)
from tests.api.pooled_support import BASE, SD, add_batch, outcome_result, pooled, trial
from tests.api.rscript_support import run_r
from tests.api.studies_support import Actors
from tests.factories import one_to_one_stigma_trial, result

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


def _evidence() -> list[dict[str, Any]]:
    """Six empowerment trials in four reported forms; one combines two instruments, and one
    reports a follow-up too (which the default specification leaves out)."""
    combined = trial(
        0.2,
        results=[
            outcome_result(0.2),
            outcome_result(0.45, instrument="boston-empowerment-scale"),
            outcome_result(0.9, weeks=52, label="follow-up"),
        ],
        year=2014,
    )
    t_form = trial(0.1, year=2018)
    t_form["outcome_results"] = [
        result("empowerment", "empowerment-scale",
               {"form": "t", "t": 1.9, "n_intervention": 40, "n_control": 40})
    ]  # fmt: skip
    effect_se = trial(0.1, year=2020, category="one-to-one")
    effect_se["outcome_results"] = [
        result("empowerment", "dutch-empowerment-scale",
               {"form": "effect_se", "effect": 0.35, "se": 0.21,
                "positive_favours_intervention": True})
    ]  # fmt: skip
    return [
        combined,
        t_form,
        effect_se,
        trial(0.05, year=2010, n=60),
        trial(-0.1, year=2012, comparator="treatment-as-usual"),
        trial(0.6, year=2021, n=25),
        one_to_one_stigma_trial(),
    ]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


@pytest.fixture
def stored(client: TestClient, actors: Actors) -> dict[str, Any]:
    return add_batch(client, actors.trusted, _evidence())


@pytest.mark.usefixtures("stored")
def test_a_pooled_answer_as_csv_has_one_row_per_study_in_both_dialects(
    client: TestClient,
) -> None:
    answer = pooled(client)
    metafor = client.get("/v1/outcomes/empowerment/pooled", headers={"Accept": "text/csv"})
    metapsy = client.get("/v1/outcomes/empowerment/pooled?format=csv&dialect=metapsy")

    assert metafor.status_code == 200
    assert metafor.headers["content-type"].startswith("text/csv")
    json_etag = client.get("/v1/outcomes/empowerment/pooled").headers["ETag"]
    assert metafor.headers["ETag"] not in (json_etag, metapsy.headers["ETag"])
    rows = csv_rows(metafor.text)
    assert [int(r["study_id"]) for r in rows] == [s["study_id"] for s in answer["studies"]]
    for row, study in zip(rows, answer["studies"], strict=True):
        assert (float(row["yi"]), float(row["vi"])) == (study["yi"], study["vi"])  # exact
        assert float(row["weight"]) == study["weight"]
        assert row["instruments"] == " + ".join(study["instruments"])
    # Accept chooses JSON or CSV; Accept-Encoding whether it is compressed (issue 14).
    assert metafor.headers["Vary"] in ("Accept", "Accept, Accept-Encoding")
    assert client.get("/v1/outcomes/empowerment/pooled").headers["Vary"] == (
        "Accept, Accept-Encoding"
    )
    again = client.get(
        "/v1/outcomes/empowerment/pooled?format=csv",
        headers={"If-None-Match": metafor.headers["ETag"]},
    )
    assert again.status_code == 304
    assert again.headers["ETag"] == metafor.headers["ETag"]
    combined = next(r for r in rows if " + " in r["instruments"])
    assert combined["data_warnings"].startswith("mean of 2 instruments")

    semi = csv_rows(metapsy.text, delimiter=";")
    assert list(semi[0])[:8] == [
        "study_id", "study", "year", "category", "design", "condition_arm2", "quality", "time",
    ]  # fmt: skip
    assert [float(r[".g"].replace(",", ".")) for r in semi] == [float(r["yi"]) for r in rows]
    assert {r["data_warnings"] for r in semi} >= {"NA"}


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    "params",
    [{}, {"estimator": "DL", "ci_method": "z", "level": 0.9, "timepoint": "weeks=40"}],
    ids=["review-method", "dl-z-90-by-weeks"],
)
def test_the_r_script_reproduces_the_answer_with_metafor(
    client: TestClient, tmp_path: Path, params: dict[str, Any]
) -> None:
    answer = pooled(client, **params)
    response = client.get("/v1/outcomes/empowerment/pooled/script.R", params=params)

    assert response.status_code == 200, response.text
    script = response.text
    assert f"# Evidence version: {answer['evidence_version']}" in script
    assert f"# Engine version: {answer['engine_version']}" in script
    assert answer["spec"]["canonical"] in script
    if params.get("timepoint") != "weeks=40":
        assert "aggregate(dat, cluster = study_id, rho = 0.5, weighted = FALSE)" in script
    etag = response.headers["ETag"]
    cached = client.get(
        "/v1/outcomes/empowerment/pooled/script.R", params=params, headers={"If-None-Match": etag}
    )
    assert cached.status_code == 304
    printed = run_r(script, tmp_path)
    expected = headline(answer["result"])
    assert set(printed) == set(expected)
    for name, value in expected.items():
        assert printed[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("dependence", ["three_level", "che"])
def test_the_r_script_reproduces_the_dependence_model(
    client: TestClient, tmp_path: Path, dependence: str
) -> None:
    """Issue 29: rma.mv (and clubSandwich's CR2 for CHE) in R, to the service's numbers."""
    params = {"dependence": dependence}
    answer = pooled(client, **params)
    model = answer["dependence"]
    assert (model["k_effects"], model["k_studies"]) == (answer["k"] + 1, answer["k"])
    script = client.get("/v1/outcomes/empowerment/pooled/script.R", params=params).text
    printed = run_r(script, tmp_path)
    assert printed["dependence_estimate"] == pytest.approx(model["estimate"], rel=1e-6)
    assert printed["dependence_se"] == pytest.approx(model["se"], rel=1e-6)
    if dependence == "che":
        assert printed["dependence_cr2_se"] == pytest.approx(model["robust"]["se"], rel=1e-6)
        assert printed["dependence_cr2_df"] == pytest.approx(model["robust"]["df"], rel=1e-6)


@pytest.mark.usefixtures("stored")
def test_the_forest_plot_shows_the_dependence_model(client: TestClient) -> None:
    svg = client.get("/v1/outcomes/empowerment/forest.svg", params={"dependence": "che"})
    assert svg.status_code == 200, svg.text
    model = pooled(client, dependence="che")["dependence"]
    assert f"CHE, CR2 ({model['k_effects']} effects, {model['k_studies']} studies)" in svg.text
    assert "(2 instruments)" in svg.text
    plain = client.get("/v1/outcomes/empowerment/forest.svg").text
    assert "CHE, CR2" not in plain
    assert "(2 instruments)" not in plain


@pytest.mark.usefixtures("stored")
def test_the_study_list_as_csv_has_one_row_per_result_as_reported(client: TestClient) -> None:
    response = client.get("/v1/studies", params={"format": "csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = csv_rows(response.text)
    studies = client.get("/v1/studies", params={"limit": 200}).json()["items"]
    assert len(rows) == sum(len(s["outcome_results"]) for s in studies) == 9
    first = rows[0]
    assert first["form"] == "means"
    assert float(first["m1i"]) == BASE + 0.2 * SD
    assert {r["form"] for r in rows} == {"means", "t", "effect_se"}
    t_row = next(r for r in rows if r["form"] == "t")
    assert t_row["m1i"] == ""
    assert '"t":1.9' in t_row["reported"]
    only_stigma = client.get(
        "/v1/studies?outcome=internalized-stigma", headers={"Accept": "text/csv"}
    )
    assert [r["instrument"] for r in csv_rows(only_stigma.text)] == ["ismi"]


@pytest.fixture
def empty_client(backend: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app on a new, empty, migrated database of the backend, and a curator's headers."""
    with empty_app(backend, tmp_path) as found:
        yield found


SPECS: list[dict[str, Any]] = [
    {},
    {"category": "peer-group"},
    {"timepoint": "follow-up", "min_k": 1},
    {"estimator": "PM", "sections": ["leave_one_out", "egger"]},
]


@pytest.mark.usefixtures("stored")
def test_a_study_set_exported_as_csv_and_imported_into_an_empty_database_pools_the_same(
    client: TestClient, empty_client: tuple[TestClient, dict[str, str]]
) -> None:
    exported = client.get("/v1/studies", params={"format": "csv"}).text
    target, curator = empty_client

    imported = post_import(target, curator, exported, fmt="csv")

    assert imported.status_code == 201, imported.text
    assert imported.json()["problems"] == []
    assert imported.json()["new_studies"] == 7
    for outcome in ("empowerment", "internalized-stigma"):
        for spec in SPECS:
            before, after = pooled(client, outcome, **spec), pooled(target, outcome, **spec)
            assert without_ids(after) == without_ids(before), (outcome, spec)
    assert post_import(target, curator, exported, fmt="csv").json()["new_studies"] == 0
    assert newest_version(target) == 1
