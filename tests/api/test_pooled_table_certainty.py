"""GET /v1/pooled: each cell's certainty and statement are those of the cell's own answer.

The table fits its cells without building their answers (:mod:`service.usecases.judgement.cells`);
these tests hold it to the per-outcome answer, cell by cell, whichever is computed first: on
pooled cells with and without Egger's test (ten studies or more), narrative cells, empty
ones, and cells a curator judged.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

QUALITIES = ("strong", "moderate", "weak")
OPTIONS: list[dict[str, Any]] = [{}, {"estimator": "DL", "min_k": 3}]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _evidence(client: TestClient, actors: Actors) -> None:
    # Peer groups: twelve trials, smaller ones with larger effects (Egger's test is run);
    # one-to-one: four; peer-run services: three (narrative under min_k = 4, pooled under 3).
    groups = [
        trial(0.9 - 0.06 * i, n=20 + 15 * i, quality_rating=QUALITIES[i % 3], year=2000 + i)
        for i in range(12)
    ]
    one_to_one = [
        trial(s, n=60, category="one-to-one", quality_rating="strong") for s in (0.1, 0.3, 0.2, 0.4)
    ]
    services = [trial(s, n=50, category="peer-run-service") for s in (0.3, -0.1, 0.2)]
    add_batch(client, actors.trusted, groups + one_to_one + services)
    judged = {"category": "one-to-one", "domain": "indirectness", "downgrade": 1,
              "reason": "Inpatients only"}  # fmt: skip
    response = client.post(
        "/v1/outcomes/empowerment/judgements", json=judged, headers=actors.curator
    )
    assert response.status_code == 201, response.text


def _answer(client: TestClient, cell: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    params = {**options, **({"category": cell["category"]} if cell["category"] else {})}
    response = client.get(f"/v1/outcomes/{cell['outcome']}/pooled", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _expected(answer: dict[str, Any]) -> dict[str, Any]:
    certainty = answer["certainty"]
    cell_certainty = (
        {
            "level": certainty["level"],
            "downgraded": [n for n, d in certainty["domains"].items() if d["downgrade"] > 0],
        }
        if certainty
        else None
    )
    return {"certainty": cell_certainty, "statement": answer["statement"]}


def _table(client: TestClient, options: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.get("/v1/pooled", params=options)
    assert response.status_code == 200, response.text
    cells: list[dict[str, Any]] = response.json()["cells"]
    return cells


@pytest.mark.parametrize("options", OPTIONS, ids=["default", "dl-min-k-3"])
@pytest.mark.parametrize("table_first", [True, False], ids=["table-first", "answers-first"])
def test_each_cell_has_its_answers_certainty_and_statement(
    client: TestClient, actors: Actors, options: dict[str, Any], table_first: bool
) -> None:
    _evidence(client, actors)
    first = _table(client, options) if table_first else None
    answers = {(c["outcome"], c["category"]): _answer(client, c, options) for c in _table_cells()}
    cells = first or _table(client, options)  # with the answers cached: from them
    assert {(c["outcome"], c["category"]) for c in cells} == set(answers)
    for cell in cells:
        answer = answers[(cell["outcome"], cell["category"])]
        where = (cell["outcome"], cell["category"])
        assert {"certainty": cell["certainty"], "statement": cell["statement"]} == _expected(
            answer
        ), where
        assert (cell["status"], cell["k"]) == (answer["status"], answer["k"]), where
    by_cell = {(c["outcome"], c["category"]): c for c in cells}
    # What the evidence was built to show, so that the comparison above means something.
    groups = answers[("empowerment", "peer-group")]
    assert groups["result"]["egger"] is not None
    assert by_cell[("empowerment", "peer-group")]["certainty"] is not None
    judged = by_cell[("empowerment", "one-to-one")]["certainty"]
    assert judged is not None
    assert "indirectness" in judged["downgraded"]
    services = by_cell[("empowerment", "peer-run-service")]
    assert (services["certainty"] is None) == (options.get("min_k", 4) > 3)
    assert services["statement"] is not None
    assert by_cell[("self-efficacy", None)]["statement"]["text"].startswith("Too few")


def _table_cells() -> list[dict[str, Any]]:
    outcomes = ("empowerment", "self-efficacy", "internalized-stigma")
    categories = (None, "peer-group", "one-to-one", "peer-run-service")
    return [{"outcome": o, "category": c} for o in outcomes for c in categories]
