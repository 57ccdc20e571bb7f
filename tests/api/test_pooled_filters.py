"""Each option of the analysis specification selects what it says, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.stats.aggregate import combine_correlated
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, pooled, study_ids, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _ids(created: dict) -> list[int]:
    return [study["id"] for study in created["studies"]]


def test_category_design_comparator_and_quality(client: TestClient, actors: Actors) -> None:
    bodies = [
        trial(0.2, category="peer-group", quality_rating="strong"),
        trial(0.3, category="peer-group", comparator="treatment-as-usual"),
        trial(0.4, category="one-to-one", quality_rating="weak"),
        trial(0.1, category="one-to-one", comparator="treatment-as-usual"),
        trial(0.5, category="peer-run-service", design="cluster-randomized"),
        trial(0.6, category="peer-group", design="non-randomized-controlled"),
    ]
    ids = _ids(add_batch(client, actors.trusted, bodies))
    default = pooled(client)
    assert sorted(study_ids(default)) == ids[:5]  # the review's designs: randomized, cluster
    assert {s["design"] for s in default["studies"]} == {"randomized", "cluster-randomized"}

    assert sorted(study_ids(pooled(client, category="one-to-one"))) == ids[2:4]
    nrs = pooled(client, design="non-randomized-controlled")
    assert (study_ids(nrs), nrs["k_randomized"]) == ([ids[5]], 0)
    tau = pooled(client, comparator="treatment-as-usual")
    assert sorted(study_ids(tau)) == [ids[1], ids[3]]
    assert sorted(study_ids(pooled(client, min_quality="moderate"))) == [
        ids[0],
        ids[1],
        ids[3],
        ids[4],
    ]
    assert study_ids(pooled(client, min_quality="strong")) == [ids[0]]


def test_one_category_has_no_subgroups_all_categories_do(
    client: TestClient, actors: Actors
) -> None:
    categories = ["peer-group", "one-to-one"] * 4
    add_batch(
        client, actors.trusted, [trial(0.1 * i, category=c) for i, c in enumerate(categories)]
    )
    overall = pooled(client)["result"]
    assert set(overall["subgroups"]["levels"]) == {"peer-group", "one-to-one"}
    assert overall["subgroups"]["difference"]["df"] == 1
    assert "subgroups" not in pooled(client, category="peer-group")["result"]


def test_timepoints(client: TestClient, actors: Actors) -> None:
    results = [
        outcome_result(0.12, weeks=12),
        outcome_result(0.08, weeks=8),
        outcome_result(0.26, weeks=26, label="follow-up"),
        outcome_result(0.52, weeks=52, label="follow-up"),
    ]
    add_batch(client, actors.trusted, [trial(results=results)])

    def chosen(timepoint: str) -> tuple[float, str]:
        study = pooled(client, timepoint=timepoint)["studies"][0]
        return study["timepoint_weeks"], study["timepoint_label"]

    assert chosen("post") == (8, "post")  # the earliest post-intervention result
    assert chosen("follow-up") == (26, "follow-up")
    assert chosen("weeks=40") == (52, "follow-up")  # 12 weeks away, against 14
    assert chosen("weeks=39") == (26, "follow-up")  # a tie goes to the earlier
    assert chosen("weeks=0") == (8, "post")


def test_several_instruments_are_averaged_or_the_first_taken(
    client: TestClient, actors: Actors
) -> None:
    results = [
        outcome_result(0.4, instrument="empowerment-scale"),
        outcome_result(0.1, instrument="boston-empowerment-scale"),
        outcome_result(0.9, instrument="dutch-empowerment-scale", weeks=30, label="follow-up"),
    ]
    created = add_batch(client, actors.trusted, [trial(results=results)])
    stored = [r["effect"] for r in created["studies"][0]["outcome_results"]]

    average = pooled(client)
    study = average["studies"][0]
    combined = combine_correlated([e["yi"] for e in stored[:2]], [e["vi"] for e in stored[:2]])
    assert study["instruments"] == ["empowerment-scale", "boston-empowerment-scale"]
    assert (study["yi"], study["vi"]) == (combined.yi, combined.vi)
    assert average["combination"]["method"] == "average"
    assert average["combination"]["assumed_correlation"] == 0.5

    first = pooled(client, multiple="first")
    assert first["studies"][0]["instruments"] == ["empowerment-scale"]
    assert (first["studies"][0]["yi"], first["studies"][0]["vi"]) == (
        stored[0]["yi"],
        stored[0]["vi"],
    )
    assert first["combination"] == {
        "method": "first",
        "assumed_correlation": None,
        "description": first["combination"]["description"],
    }


def test_model_options_reach_the_engine(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(5)])
    result = pooled(client, estimator="DL", ci_method="z", level=0.9)["result"]
    assert (result["estimator"], result["ci_method"], result["level"]) == ("DL", "z", 0.9)
    assert result["df"] is None  # z inference
    wider = pooled(client, estimator="DL", ci_method="z", level=0.99)["result"]
    assert wider["ci_lower"] < result["ci_lower"] < result["ci_upper"] < wider["ci_upper"]


def test_participants_count_each_arm_once(client: TestClient, actors: Actors) -> None:
    results = [
        outcome_result(0.4, instrument="empowerment-scale", n=50),
        outcome_result(0.1, instrument="boston-empowerment-scale", n=50),
    ]
    add_batch(client, actors.trusted, [trial(results=results, n=50), trial(0.2, n=30)])
    answer = pooled(client)
    assert [s["participants"] for s in answer["studies"]] == [100, 60]
    assert answer["participants"] == 160
