"""Every number a plot prints is a number of the JSON answer to the same request (issue 26).

The subgroup diamonds of the forest were drawn at estimate +/- z.SE while the answer reports
each level's own (HKSJ) interval: for one-to-one with k = 2 the plot said [0.17, 0.90] and the
API [-1.85, 2.92]. Here each number in the SVG's text (tick labels aside: they are the axis,
not results) must be a value of the answer rounded as printed, and the subgroup, overall and
prediction rows must be exactly the answer's intervals.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors, create

pytestmark = [pytest.mark.db, pytest.mark.dialect_free, pytest.mark.unconcluded]

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
# Four peer-group trials and two one-to-one: the one-to-one level has k = 2, where HKSJ's
# t quantile on 1 df makes its interval far wider than a normal one.
TRIALS = ((0.1, "peer-group"), (0.45, "peer-group"), (-0.2, "peer-group"), (0.3, "peer-group"),
          (0.6, "one-to-one"), (0.25, "one-to-one"))  # fmt: skip


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _texts(element: ET.Element, in_ticks: bool = False) -> Iterator[str]:
    """The texts of ``element``'s tree, except those of axis ticks."""
    ticks = in_ticks or (element.get("id") or "").startswith(("xtick", "ytick"))
    if element.tag == f"{SVG}text" and not ticks:
        yield "".join(element.itertext())
    for child in element:
        yield from _texts(child, ticks)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _printed_as(token: str, answer: dict[str, Any]) -> bool:
    """Whether ``token`` is a value of ``answer`` rounded to the token's decimals."""
    decimals = len(token.partition(".")[2])
    target = float(token)
    for leaf in _leaves(answer):
        if isinstance(leaf, bool):
            continue
        if isinstance(leaf, int | float) and abs(round(leaf, decimals) - target) < 1e-9:
            return True
        if isinstance(leaf, str) and token in NUMBER.findall(leaf):
            return True
    return False


def _unexplained(svg: bytes, answer: dict[str, Any], extra: set[str]) -> list[str]:
    texts = list(_texts(ET.fromstring(svg)))
    labels = {s["label"] for s in answer.get("studies", [])}
    evidence = re.compile(r"Evidence version (\d+) of \d{4}-\d{2}-\d{2}; engine ([^\s;]+)")
    unexplained = []
    for text in texts:
        found = evidence.search(text)
        if found:
            assert found.group(1) == str(answer["evidence_version"])
            assert found.group(2) == answer["engine_version"]
            text = evidence.sub("", text)
        if text.removesuffix(" †") in labels:
            continue
        unexplained += [
            t for t in NUMBER.findall(text) if t not in extra and not _printed_as(t, answer)
        ]
    return unexplained


def _add_trials(client: TestClient, actors: Actors) -> None:
    add_batch(
        client, actors.trusted,
        [trial(s, n=30 + 5 * i, category=c, year=2010 + i) for i, (s, c) in enumerate(TRIALS)],
    )  # fmt: skip


def _add_flagged_trial(client: TestClient, actors: Actors) -> str:
    """A trial whose control SD is 4.4 times smaller than the intervention's (a warning-level
    data warning), included by a curator; its label."""
    body = trial(0.3, n=50, category="peer-group", year=2020)
    data = body["outcome_results"][0]["data"]
    data["intervention"]["sd"], data["control"]["sd"] = 0.8, 0.18
    study = create(client, actors.trusted, body)["study"]
    assert study["outcome_results"][0]["data_warnings"][0]["code"] == "sd-ratio"
    included = client.post(f"/v1/studies/{study['id']}/include", headers=actors.curator)
    assert included.status_code == 200, included.text
    return str(study["authors"]).split(",")[0]


def _row(texts: list[str], label: str) -> str:
    # A row's label is followed (in document order) by its effect and interval.
    return texts[texts.index(label) + 1]


def _interval(estimate: float, lower: float, upper: float) -> str:
    return f"{estimate:.2f} [{lower:.2f}, {upper:.2f}]"


def test_every_number_of_the_forest_is_the_answers(client: TestClient, actors: Actors) -> None:
    _add_trials(client, actors)
    _add_flagged_trial(client, actors)
    answer = client.get("/v1/outcomes/empowerment/pooled").json()
    svg = client.get("/v1/outcomes/empowerment/forest.svg").content
    result = answer["result"]
    flagged = sum(1 for s in answer["studies"] if s["data_warnings"])
    # The level (95%), the total weight (100.0%) and the count of flagged studies.
    extra = {str(round(answer["spec"]["level"] * 100)), "100.0", str(flagged)}
    assert _unexplained(svg, answer, extra) == []

    texts = list(_texts(ET.fromstring(svg)))
    levels = result["subgroups"]["levels"]
    names = {c["slug"]: c["name"] for c in client.get("/v1/categories").json()["items"]}
    for slug in ("one-to-one", "peer-group"):
        level = levels[slug]
        subtotal = f"Subtotal ({level['k']} studies)"
        after = texts[texts.index(names[slug]) :]
        expected = _interval(level["estimate"], level["ci_lower"], level["ci_upper"])
        assert _row(after, subtotal) == expected
    assert levels["one-to-one"]["k"] == 2
    pooled_label = next(t for t in texts if t.startswith("Random effects"))
    assert _row(texts, pooled_label) == _interval(
        result["estimate"], result["ci_lower"], result["ci_upper"]
    )
    pi = f"[{result['pi_lower']:.2f}, {result['pi_upper']:.2f}]"
    assert _row(texts, "Prediction interval") == pi
    method = f"tau² by {result['estimator']}, {result['ci_method']} CI; k = {answer['k']}"
    assert any(method in t for t in texts)
    [marked] = [s["label"] for s in answer["studies"] if s["data_warnings"]]
    assert f"{marked} †" in texts  # the marker, and its legend in the footer
    assert any(t.startswith("† data warning: 1 of 7 studies") for t in texts)


def test_every_number_of_the_funnel_and_history_is_the_answers(
    client: TestClient, actors: Actors
) -> None:
    _add_trials(client, actors)
    answer = client.get("/v1/outcomes/empowerment/pooled").json()
    funnel = client.get("/v1/outcomes/empowerment/funnel.svg").content
    contours = {"0.10", "0.05", "0.01"}  # the legend's significance contours, fixed
    assert _unexplained(funnel, answer, contours) == []
    result = answer["result"]
    method = f"tau² by {result['estimator']}, {result['ci_method']} CI"
    assert any(method in t for t in _texts(ET.fromstring(funnel)))
    history = client.get("/v1/outcomes/empowerment/history").json()
    drawn = client.get("/v1/outcomes/empowerment/history.svg").content
    assert _unexplained(drawn, {**history, "evidence_version": answer["evidence_version"]},
                        set()) == []  # fmt: skip
    assert any(method in t for t in _texts(ET.fromstring(drawn)))
