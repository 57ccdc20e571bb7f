"""Multi-arm trials in pooled answers: ``multi_arm=separate`` (the default) or ``combine``.

One three-arm trial (two peer-support arms, one waiting list) among four two-arm trials, every
arm reported as means and SDs. The numbers are metafor's (tests/api/reference/multi_arm.R and
.json): ``combine`` merges the two arms by the Cochrane Handbook's formula (Table 6.5.a) and
takes escalc's SMD against the control; ``separate`` averages the two comparisons at r = 0.5.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.rscript_support import run_r
from tests.api.studies_support import Actors
from tests.factories import means, result

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

REFERENCE = json.loads((Path(__file__).parent / "reference" / "multi_arm.json").read_text())


def _arm_result(arm: str, *, instrument: str = "empowerment-scale", **data: Any) -> Any:
    a, c = REFERENCE["arms"][arm], REFERENCE["arms"]["control"]
    body = result(
        "empowerment",
        instrument,
        data or means(a["mean"], a["sd"], a["n"], c["mean"], c["sd"], c["n"]),
    )
    return {**body, "intervention_arm": f"Peer arm {arm}", "control_arm": "Waiting list"}


def _three_arm(results: list[Any] | None = None) -> Any:
    arms = REFERENCE["arms"]
    body = trial(year=2015)
    body["arms"] = [
        {"label": "Peer arm a", "role": "intervention", "n_randomized": arms["a"]["n"]},
        {"label": "Peer arm b", "role": "intervention", "n_randomized": arms["b"]["n"]},
        {"label": "Waiting list", "role": "control", "n_randomized": arms["control"]["n"]},
    ]
    body["total_randomized"] = sum(arm["n_randomized"] for arm in body["arms"])
    body["outcome_results"] = results or [_arm_result("a"), _arm_result("b")]
    return body


def _two_arm_trials() -> list[Any]:
    bodies = []
    for year, row in enumerate(REFERENCE["two_arm"], start=2016):
        body = trial(year=year, n=row["n1"])
        body["outcome_results"] = [
            result(
                "empowerment",
                "empowerment-scale",
                means(row["m1"], row["sd1"], row["n1"], row["m2"], row["sd2"], row["n2"]),
            )
        ]
        bodies.append(body)
    return bodies


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _three_arm_study(answer: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in answer["studies"] if s["year"] == 2015)


@pytest.mark.parametrize("multi_arm", ["separate", "combine"])
def test_the_three_arm_trial_as_metafor_pools_it(
    client: TestClient, actors: Actors, multi_arm: str
) -> None:
    add_batch(client, actors.trusted, [_three_arm(), *_two_arm_trials()])
    params = {} if multi_arm == "separate" else {"multi_arm": "combine"}
    answer = pooled(client, **params)
    expected = REFERENCE[multi_arm]
    study = _three_arm_study(answer)
    assert study["yi"] == pytest.approx(expected["yi"], rel=1e-6)
    assert study["vi"] == pytest.approx(expected["vi"], rel=1e-6)
    arms = REFERENCE["arms"]
    assert study["participants"] == arms["a"]["n"] + arms["b"]["n"] + arms["control"]["n"]
    headline = answer["result"]
    assert headline["estimate"] == pytest.approx(expected["estimate"], rel=1e-6)
    assert headline["se"] == pytest.approx(expected["se"], rel=1e-6)
    assert headline["tau2"] == pytest.approx(expected["tau2"], rel=1e-6)
    assert answer["spec"]["multi_arm"] == multi_arm
    merging = "merged into one group" in answer["combination"]["description"]
    assert merging is (multi_arm == "combine")
    # The default keeps every existing cache key and ETag: the option is silent unless chosen.
    assert ("multi_arm=combine" in answer["spec"]["canonical"]) is (multi_arm == "combine")
    assert "multi_arm=separate" not in answer["spec"]["canonical"]


def test_a_trial_entered_with_its_arms_merged_gets_the_same_effect(
    client: TestClient, actors: Actors
) -> None:
    merged, control = REFERENCE["merged"], REFERENCE["arms"]["control"]
    body = trial(year=2015, n=int(merged["n"]))
    body["outcome_results"] = [
        result(
            "empowerment",
            "empowerment-scale",
            means(merged["mean"], merged["sd"], int(merged["n"]), control["mean"], control["sd"],
                  control["n"]),
        )
    ]  # fmt: skip
    add_batch(client, actors.trusted, [body, _three_arm(), *_two_arm_trials()[:2]])
    studies = pooled(client, multi_arm="combine", min_k=1)["studies"]
    by_hand, merged_here = (s for s in studies if s["year"] == 2015)
    assert merged_here["yi"] == pytest.approx(by_hand["yi"], rel=1e-12)
    assert merged_here["vi"] == pytest.approx(by_hand["vi"], rel=1e-12)


def test_comparisons_without_arm_means_stay_separate(client: TestClient, actors: Actors) -> None:
    """A t statistic has no arm means to merge: both comparisons stay the study's effects."""
    t_form = {"form": "t", "t": 2.1, "n_intervention": 38, "n_control": 42}
    three = _three_arm([_arm_result("a"), _arm_result("b", **t_form)])
    add_batch(client, actors.trusted, [three, *_two_arm_trials()])
    separate = _three_arm_study(pooled(client))
    combined = _three_arm_study(pooled(client, multi_arm="combine"))
    assert (combined["yi"], combined["vi"]) == (separate["yi"], separate["vi"])


def test_merging_is_per_instrument(client: TestClient, actors: Actors) -> None:
    """Two instruments, each with both arms: each is merged, then the two are averaged."""
    other = "boston-empowerment-scale"
    three = _three_arm([_arm_result("a"), _arm_result("b"), _arm_result("a", instrument=other),
                        _arm_result("b", instrument=other)])  # fmt: skip
    add_batch(client, actors.trusted, [three, *_two_arm_trials()])
    study = _three_arm_study(pooled(client, multi_arm="combine"))
    # Both instruments carry the same numbers: averaging two equal effects at r = 0.5 keeps
    # g and gives the variance (v + v + 2 * 0.5 * v) / 4 = 0.75 v.
    assert study["yi"] == pytest.approx(REFERENCE["combine"]["yi"], rel=1e-6)
    assert study["vi"] == pytest.approx(0.75 * REFERENCE["combine"]["vi"], rel=1e-6)
    assert study["instruments"] == ["empowerment-scale", other]


def test_an_unknown_multi_arm_choice_is_422(client: TestClient) -> None:
    response = client.get("/v1/outcomes/empowerment/pooled", params={"multi_arm": "average"})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("dependence", ["average", "che"])
def test_the_r_script_reproduces_a_combined_answer(
    client: TestClient, actors: Actors, tmp_path: Path, dependence: str
) -> None:
    """script.R holds the merged effect (one row per instrument) and refits it in metafor."""
    other = "boston-empowerment-scale"
    three = _three_arm([_arm_result("a"), _arm_result("b"), _arm_result("a", instrument=other),
                        _arm_result("b", instrument=other)])  # fmt: skip
    add_batch(client, actors.trusted, [three, *_two_arm_trials()])
    params = {"multi_arm": "combine", "dependence": dependence}
    answer = pooled(client, **params)
    script = client.get("/v1/outcomes/empowerment/pooled/script.R", params=params)
    assert script.status_code == 200, script.text
    assert script.text.count("(arms merged)") == 2
    printed = run_r(script.text, tmp_path)
    assert printed["estimate"] == pytest.approx(answer["result"]["estimate"], rel=1e-6)
    assert printed["se"] == pytest.approx(answer["result"]["se"], rel=1e-6)
    if dependence == "che":
        model = answer["dependence"]
        assert (model["k_effects"], model["k_studies"]) == (6, 5)
        assert printed["dependence_estimate"] == pytest.approx(model["estimate"], rel=1e-6)
        assert printed["dependence_cr2_se"] == pytest.approx(model["robust"]["se"], rel=1e-6)


def test_history_and_table_merge_as_the_answer_does(client: TestClient, actors: Actors) -> None:
    """The history and the summary table read the evidence their own way (every revision at
    once, every outcome): they merge the arms too."""
    add_batch(client, actors.trusted, [_three_arm(), *_two_arm_trials()])
    expected = REFERENCE["combine"]["estimate"]
    history = client.get("/v1/outcomes/empowerment/history", params={"multi_arm": "combine"})
    assert history.status_code == 200, history.text
    assert history.json()["points"][-1]["estimate"] == pytest.approx(expected, rel=1e-6)
    table = client.get("/v1/pooled", params={"multi_arm": "combine"})
    assert table.status_code == 200, table.text
    cells = [c for c in table.json()["cells"] if c["outcome"] == "empowerment"]
    assert cells
    assert cells[0]["estimate"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("dependence", ["three_level", "che"])
def test_shared_control_correlates_the_arms_in_the_dependence_models(
    client: TestClient, actors: Actors, tmp_path: Path, dependence: str
) -> None:
    """multi_arm=shared_control: the two arms' comparisons correlate through the control
    (vcalc's grp1/grp2/w1/w2); script.R refits the model with vcalc and rma.mv (and CR2)."""
    other = "boston-empowerment-scale"
    three = _three_arm([_arm_result("a"), _arm_result("b"), _arm_result("a", instrument=other),
                        _arm_result("b", instrument=other)])  # fmt: skip
    add_batch(client, actors.trusted, [three, *_two_arm_trials()])
    params = {"multi_arm": "shared_control", "dependence": dependence}
    answer = pooled(client, **params)
    separate = pooled(client, dependence=dependence)
    assert answer["result"] == separate["result"]  # the headline is the study-level fit
    model = answer["dependence"]
    assert (model["k_effects"], model["k_studies"]) == (8, 5)
    assert model["estimate"] != pytest.approx(separate["dependence"]["estimate"], rel=1e-6)
    script = client.get("/v1/outcomes/empowerment/pooled/script.R", params=params)
    assert script.status_code == 200, script.text
    assert "grp1 = arm1, grp2 = arm2, w1 = n1, w2 = n2" in script.text
    printed = run_r(script.text, tmp_path)
    assert printed["dependence_estimate"] == pytest.approx(model["estimate"], rel=1e-6)
    assert printed["dependence_se"] == pytest.approx(model["se"], rel=1e-6)
    if dependence == "che":
        assert printed["dependence_cr2_se"] == pytest.approx(model["robust"]["se"], rel=1e-6)
        assert printed["dependence_cr2_df"] == pytest.approx(model["robust"]["df"], rel=1e-6)
