"""Plot routes: forest (SVG, PNG), funnel and history, conditional like the JSON answers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]

SVG = "{http://www.w3.org/2000/svg}"
CATEGORIES = ("peer-group", "one-to-one")
SHIFTS = (0.1, 0.45, -0.2, 0.3, 0.6, 0.05, 0.25, 0.8)


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _trials() -> list[dict]:
    return [
        trial(s, n=30 + 5 * i, category=CATEGORIES[i % 2], year=2010 + i)
        for i, s in enumerate(SHIFTS)
    ]


def _texts(svg: bytes) -> list[str]:
    return ["".join(e.itertext()) for e in ET.fromstring(svg).iter(f"{SVG}text")]


def test_forest_svg_shows_the_pooled_answer_with_subgroups(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, _trials())
    answer = pooled(client)
    response = client.get("/v1/outcomes/empowerment/forest.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    texts = _texts(response.content)
    result = answer["result"]
    estimate = f"{result['estimate']:.2f} [{result['ci_lower']:.2f}, {result['ci_upper']:.2f}]"
    assert estimate in texts
    names = {c["slug"]: c["name"] for c in client.get("/v1/categories").json()["items"]}
    categories = {names["one-to-one"], names["peer-group"]}  # the vocabulary's, not slugs
    assert {*categories, "Favours peer support", "Prediction interval"} <= set(texts)
    assert not {"one-to-one", "peer-group"} & set(texts)
    for study in answer["studies"]:
        assert study["label"] in texts
        assert f"{study['weight']:.1f}%" in texts
    assert f"Studies: 8; Evidence version {answer['evidence_version']} of" in " ".join(texts)
    one_category = client.get(
        "/v1/outcomes/empowerment/forest.svg", params={"category": "one-to-one"}
    )
    assert names["peer-group"] not in _texts(one_category.content)


def test_plots_are_conditional_and_pinned_answers_immutable(
    client: TestClient, actors: Actors
) -> None:
    version = add_batch(client, actors.trusted, _trials())["evidence_version"]
    for path in ("forest.svg", "forest.png", "funnel.svg", "history.svg"):
        url = f"/v1/outcomes/empowerment/{path}"
        first = client.get(url)
        assert first.status_code == 200, first.text
        assert first.headers["cache-control"] == "public, max-age=0, must-revalidate"
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")
        assert client.get(url).content == first.content  # byte-identical
        pinned = client.get(url, params={"as_of": version})
        assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert pinned.headers["etag"] == first.headers["etag"]
    assert client.get("/v1/outcomes/empowerment/forest.png").content.startswith(b"\x89PNG")
    etags = {
        client.get(f"/v1/outcomes/empowerment/{p}").headers["etag"]
        for p in ("forest.svg", "forest.png", "funnel.svg")
    }
    assert len(etags) == 3


def test_a_new_version_changes_the_forest(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, _trials()[:5])
    before = client.get("/v1/outcomes/empowerment/forest.svg")
    add_batch(client, actors.trusted, [trial(1.2, year=2024)])
    after = client.get(
        "/v1/outcomes/empowerment/forest.svg", headers={"If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.content != before.content


def test_the_forest_is_keyed_by_the_mid_its_certainty_uses(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, _trials())
    path = "/v1/outcomes/empowerment/forest.svg"
    default, wide = client.get(path), client.get(path, params={"mid": 1.5})
    assert default.headers["etag"] != wide.headers["etag"]
    for response, mid in ((default, None), (wide, 1.5)):  # each draws its own answer's level
        params = {} if mid is None else {"mid": mid}
        level = client.get("/v1/outcomes/empowerment/pooled", params=params).json()
        assert level["certainty"]["level"].replace("_", " ") in response.text.lower()


def test_a_narrative_forest_has_no_diamond_and_says_why(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, _trials()[:3])
    response = client.get("/v1/outcomes/empowerment/forest.svg")
    assert response.status_code == 200
    texts = " ".join(_texts(response.content))
    assert "Not pooled:" in texts
    assert b'id="diamond-' not in response.content


def test_funnel_draws_trim_and_fill_studies_when_asked(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, _trials())
    plain = client.get("/v1/outcomes/empowerment/funnel.svg")
    asked = client.get("/v1/outcomes/empowerment/funnel.svg", params={"sections": "trim_and_fill"})
    assert "imputed (trim-and-fill)" not in _texts(plain.content)
    k0 = pooled(client, sections=["trim_and_fill"])["result"]["trim_and_fill"]["k0"]
    assert ("imputed (trim-and-fill)" in _texts(asked.content)) == (k0 > 0)


def test_history_has_a_point_per_changing_version(client: TestClient, actors: Actors) -> None:
    for body in _trials()[:5]:
        add_batch(client, actors.trusted, [body])
    response = client.get("/v1/outcomes/empowerment/history.svg")
    desc = ET.fromstring(response.content)[1].text or ""
    assert desc.startswith("Pooled estimate after each of 5 evidence versions")
    watch = client.get("/v1/outcomes/empowerment/monitoring").json()
    # the decision aid carries the numbers of GET .../monitoring
    aid = f"TSA-adjusted interval {watch['tsa_ci_lower']:.2f} to {watch['tsa_ci_upper']:.2f}"
    assert f"{aid} at version {watch['looks'][-1]['evidence_version']}" in desc
    assert "TSA-adjusted CI (decision aid)" in _texts(response.content)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/outcomes/nothing/forest.svg", 404),
        ("/v1/outcomes/empowerment/forest.svg?as_of=999", 404),
        ("/v1/outcomes/empowerment/funnel.svg?estimator=XX", 422),
    ],
)
def test_bad_plot_requests_are_problems(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
