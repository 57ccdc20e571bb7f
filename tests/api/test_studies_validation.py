"""Every validation rule: a field-level 422 problem, and nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, head_version, listed_ids, problem_fields
from tests.factories import Body, means, peer_group_trial, result

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

Mutation = Callable[[Body], None]
R0 = "outcome_results.0"
ARM_ROLES = ("intervention", "control")
NEXT_YEAR = datetime.now(UTC).year + 1


@pytest.fixture
def who(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets a dotted ``path`` (list indices as numbers) in the body."""

    def mutate(body: Body) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _data(data: dict[str, Any]) -> Mutation:
    return _set(f"{R0}.data", data)


def _medians(**quantiles: float) -> dict[str, Any]:
    arm = {"median": 2.5, "n": 30, **quantiles}
    return {"form": "medians", "intervention": arm, "control": arm}


EFFECT_CI = {"form": "effect_ci", "effect": 0.3, "positive_favours_intervention": True}
NS = {"n_intervention": 30, "n_control": 30}
TWO_INTERVENTION_ARMS = [
    {"label": "Group A", "role": "intervention", "n_randomized": 46},
    {"label": "Group B", "role": "intervention", "n_randomized": 46},
    {"label": "Waiting list", "role": "control", "n_randomized": 46},
]

RULES: dict[str, tuple[Mutation, set[str]]] = {
    # SDs > 0, n >= 2 per arm, finite values
    "sd zero": (_set(f"{R0}.data.intervention.sd", 0), {f"{R0}.data.means.intervention.sd"}),
    "sd negative": (_set(f"{R0}.data.control.sd", -0.2), {f"{R0}.data.means.control.sd"}),
    "change sd zero": (
        _data(
            {
                "form": "change_scores",
                "intervention": {"mean_change": 0.2, "sd_change": 0, "n": 30},
                "control": {"mean_change": 0.1, "sd_change": 0.3, "n": 30},
            }
        ),
        {f"{R0}.data.change_scores.intervention.sd_change"},
    ),
    "se zero": (
        _data({"form": "effect_se", "effect": 0.3, "se": 0, "positive_favours_intervention": True}),
        {f"{R0}.data.effect_se.se"},
    ),
    "result n below 2": (_set(f"{R0}.data.control.n", 1), {f"{R0}.data.means.control.n"}),
    "t n below 2": (
        _data({"form": "t", "t": 2.0, "n_intervention": 1, "n_control": 30}),
        {f"{R0}.data.t.n_intervention"},
    ),
    "arm n below 2": (_set("arms.0.n_randomized", 1), {"arms.0.n_randomized"}),
    # arms consistent with the results
    "arms do not add up": (_set("total_randomized", 140), {"total_randomized"}),
    "more analysed than randomized": (
        _set(f"{R0}.data.intervention.n", 71),
        {f"{R0}.data.means.intervention.n"},
    ),
    "unknown arm label": (_set(f"{R0}.intervention_arm", "Nobody"), {f"{R0}.intervention_arm"}),
    "arm of the wrong role": (_set(f"{R0}.control_arm", "Peer group"), {f"{R0}.control_arm"}),
    "arm label twice": (_set("arms.1.label", "Peer group"), {"arms.1.label"}),
    "no control arm": (
        _set("arms.1.role", "intervention"),
        {"arms"} | {f"outcome_results.{i}.{arm}_arm" for i in (0, 1) for arm in ARM_ROLES},
    ),
    "ambiguous arms": (
        lambda body: body.update(total_randomized=138, arms=TWO_INTERVENTION_ARMS),
        {f"{R0}.intervention_arm", "outcome_results.1.intervention_arm"},
    ),
    "result repeated": (
        lambda body: body["outcome_results"].append(dict(body["outcome_results"][0])),
        {"outcome_results.2"},
    ),
    # CI contains the estimate; p in (0, 1]; F's df fits the ns
    "ci misses estimate": (
        _data({**EFFECT_CI, "ci_lower": 0.4, "ci_upper": 0.9}),
        {f"{R0}.data.effect_ci"},
    ),
    "ci reversed": (
        _data({**EFFECT_CI, "ci_lower": 0.9, "ci_upper": 0.1}),
        {f"{R0}.data.effect_ci"},
    ),
    "ci level 1": (
        _data({**EFFECT_CI, "ci_lower": 0.1, "ci_upper": 0.5, "ci_level": 1}),
        {f"{R0}.data.effect_ci.ci_level"},
    ),
    "p zero": (_data({"form": "p", "p": 0, "favours": "intervention", **NS}), {f"{R0}.data.p.p"}),
    "p above 1": (
        _data({"form": "p", "p": 1.2, "favours": "intervention", **NS}),
        {f"{R0}.data.p.p"},
    ),
    "p without direction": (_data({"form": "p", "p": 0.03, **NS}), {f"{R0}.data.p.favours"}),
    "f df too large": (
        _data({"form": "f", "f": 4.0, "df": 59, "favours": "intervention", **NS}),
        {f"{R0}.data.f"},
    ),
    "unknown form": (_data({"form": "odds_ratio", "value": 1.4}), {f"{R0}.data.form"}),
    # year plausible
    "year too early": (_set("year", 1900), {"year"}),
    "year in the future": (_set("year", NEXT_YEAR + 1), {"year"}),
    # vocabulary: the instrument belongs to the outcome, slugs exist
    "instrument of another outcome": (_set(f"{R0}.instrument", "ismi"), {f"{R0}.instrument"}),
    "unknown instrument": (_set(f"{R0}.instrument", "phq-9"), {f"{R0}.instrument"}),
    "unknown outcome": (_set(f"{R0}.outcome", "hope"), {f"{R0}.outcome", f"{R0}.instrument"}),
    "unknown design": (_set("design", "case-series"), {"design"}),
    "unknown category": (_set("category", "peer-chat"), {"category"}),
    "unknown comparator": (_set("comparator", "placebo"), {"comparator"}),
    "unknown quality rating": (_set("quality_rating", "excellent"), {"quality_rating"}),
    # cluster designs
    "cluster without cluster design": (
        _set(f"{R0}.cluster", {"icc": 0.05, "mean_cluster_size": 10}),
        {f"{R0}.cluster"},
    ),
    "icc of 1": (_set(f"{R0}.cluster", {"icc": 1, "mean_cluster_size": 10}), {f"{R0}.cluster.icc"}),
    # strings and lists bounded, formats checked
    "title too long": (_set("title", "x" * 501), {"title"}),
    "title blank": (_set("title", "   "), {"title"}),
    "too many tags": (_set("tags", [f"tag-{i}" for i in range(21)]), {"tags"}),
    "tag not a slug": (_set("tags", ["Peer support!"]), {"tags.0"}),
    "too many arms": (
        _set("arms", [{"label": str(i), "role": "control", "n_randomized": 2} for i in range(21)]),
        {"arms"},
    ),
    "no results": (_set("outcome_results", []), {"outcome_results"}),
    "doi malformed": (_set("doi", "not-a-doi"), {"doi"}),
    "registration id malformed": (_set("registration_id", "NCT"), {"registration_id"}),
    "pmid malformed": (_set("pmid", "PMC123"), {"pmid"}),
    "timepoint label": (_set(f"{R0}.timepoint.label", "baseline"), {f"{R0}.timepoint.label"}),
    "negative weeks": (_set(f"{R0}.timepoint.weeks", -1), {f"{R0}.timepoint.weeks"}),
    # unknown fields rejected, required fields required
    "unknown top-level field": (_set("funding", "NIMH"), {"funding"}),
    "unknown nested field": (
        _set(f"{R0}.data.intervention.se", 0.1),
        {f"{R0}.data.means.intervention.se"},
    ),
    "missing title": (lambda body: body.pop("title"), {"title"}),
    "wrong type": (_set("total_randomized", "many"), {"total_randomized"}),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_is_a_field_level_422_and_nothing_is_written(
    client: TestClient, who: Actors, rule: str
) -> None:
    mutate, fields = RULES[rule]
    body = peer_group_trial()
    mutate(body)
    response = client.post("/v1/studies", json=body, headers=who.trusted)
    problem = response.json()
    assert problem_fields(response) == fields
    assert problem["type"].endswith("/validation-error")
    assert all(error["message"] for error in problem["errors"])
    assert listed_ids(client) == []
    assert head_version(client) == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422(client: TestClient, who: Actors, literal: str) -> None:
    body = peer_group_trial()
    body["outcome_results"][0]["data"]["intervention"]["mean"] = "__NUMBER__"
    raw = json.dumps(body).replace('"__NUMBER__"', literal)
    response = client.post(
        "/v1/studies",
        content=raw,
        headers={**who.trusted, "content-type": "application/json"},
    )
    assert problem_fields(response) == {f"{R0}.data.means.intervention.mean"}


def test_all_problems_of_a_study_are_reported_together(client: TestClient, who: Actors) -> None:
    body = peer_group_trial(design="case-series", total_randomized=500)
    body["outcome_results"].append(
        result("empowerment", "ismi", means(2.0, 0.4, 20, 2.1, 0.4, 20), weeks=26)
    )
    response = client.post("/v1/studies", json=body, headers=who.trusted)
    assert problem_fields(response) == {
        "design",
        "total_randomized",
        "outcome_results.2.instrument",
    }


def test_a_cluster_design_cannot_say_arm_summaries_account_for_clustering(
    client: TestClient, who: Actors
) -> None:
    body = peer_group_trial(design="cluster-randomized")
    body["outcome_results"][0]["cluster"] = {
        "icc": 0.02,
        "mean_cluster_size": 12,
        "reported_accounts_for_clustering": True,
    }
    response = client.post("/v1/studies", json=body, headers=who.trusted)
    assert problem_fields(response) == {f"{R0}.cluster.reported_accounts_for_clustering"}
    assert "cannot account for clustering" in response.text


@pytest.mark.parametrize(
    ("outcome", "instrument", "valid"),
    [
        ("empowerment", "empowerment-scale", True),
        ("internalized-stigma", "ismi-10", True),
        ("empowerment", "ismi", False),  # another outcome's
        ("self-efficacy", "phq-9", False),  # no instrument of the review
    ],
)
def test_the_spec_states_each_outcomes_instruments(
    client: TestClient, who: Actors, outcome: str, instrument: str, valid: bool
) -> None:
    """Issue 25: an instrument is one of its outcome's, in the spec (if/then/else on the
    outcome) as in the use case, which names the instrument when it refuses one."""
    body = peer_group_trial()
    body["outcome_results"] = [{**body["outcome_results"][0], "outcome": outcome,
                                "instrument": instrument}]  # fmt: skip
    components = client.get("/openapi.json").json()["components"]
    schema = {"$ref": "#/components/schemas/OutcomeResultCreate", "components": components}
    assert jsonschema_rs.is_valid(schema, body["outcome_results"][0]) is valid
    response = client.post("/v1/studies/preview", json=body, headers=who.trusted)
    if valid:  # the data may break another rule on this scale, never the instrument's
        named = problem_fields(response) if response.status_code == 422 else set()
        assert f"{R0}.instrument" not in named, response.text
    else:
        assert problem_fields(response) == {f"{R0}.instrument"}


MD = {"form": "mean_difference", "mean_difference": 0.3, **NS}


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ({**MD, "se": 0.1}, True),
        ({**MD, "ci_lower": 0.1, "ci_upper": 0.5, "se": None}, True),
        ({**MD, "se": 0.1, "ci_lower": 0.1, "ci_upper": 0.5}, False),  # both
        ({**MD, "ci_lower": 0.1}, False),  # half an interval
        (MD, False),  # neither
        (_medians(q1=2.0, q3=3.0), True),
        (_medians(minimum=1.0, maximum=4.0), True),
        (_medians(q1=2.0, q3=3.0, minimum=1.0, maximum=4.0), True),
        (_medians(q1=2.0), False),  # half the quartiles
        (_medians(q1=2.0, q3=3.0, minimum=1.0), False),  # half the range
        (_medians(), False),  # neither
    ],
)
def test_the_spec_states_which_reported_fields_go_together(
    client: TestClient, who: Actors, data: dict[str, Any], valid: bool
) -> None:
    """Issue 25: 'either se or a CI' and 'quartiles, range or both, each pair whole', in the
    spec (if/then/else) as in the validators, whose refusal names the data."""
    components = client.get("/openapi.json").json()["components"]
    name = "MeanDifferenceData" if data["form"] == "mean_difference" else "MediansData"
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    assert jsonschema_rs.is_valid(schema, data) is valid
    body = peer_group_trial()
    body["outcome_results"][0]["data"] = data
    response = client.post("/v1/studies/preview", json=body, headers=who.trusted)
    named = problem_fields(response) if response.status_code == 422 else set()
    if valid:
        assert not any(field.startswith(f"{R0}.data") for field in named), response.text
    else:
        assert named, response.text
        assert all(field.startswith(f"{R0}.data") for field in named), named
