"""POST /v1/studies/preview: the write as if made and included, with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api.conftest import Auth, MakeKey
from tests.api.hostile_support import database_dumper
from tests.api.pooled_support import add_batch, pooled, trial
from tests.api.studies_support import Actors, action, changes_of, create

pytestmark = pytest.mark.db


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    actors = Actors(make_key, auth)
    _ = actors.submitter, actors.trusted, actors.curator  # keys exist before any dump
    return actors


@pytest.fixture
def dump(session: Session) -> Any:
    return database_dumper(session.connection())


def _preview(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/studies/preview", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_preview_stores_nothing_and_equals_the_write(
    client: TestClient, actors: Actors, dump: Any
) -> None:
    add_batch(client, actors.trusted, [trial(s, quality_rating="strong") for s in (0.2, 0.3, 0.1)])
    body = trial(0.9, n=80, quality_rating="strong")
    before = dump()
    preview = _preview(client, actors.submitter, body)
    assert dump() == before  # every row of every table is unchanged
    assert preview["stored"] is False

    written = create(client, actors.trusted, body)
    assert preview["evidence_version"] == written["evidence_version"]
    assert preview["pooled_changes"] == changes_of(client, written)
    overall = next(c for c in preview["cells"] if c["category"] is None)
    for name, domain in overall["after"]["certainty"]["domains"].items():
        assert domain == pooled(client)["certainty"]["domains"][name], name
    assert overall["after"]["certainty"] == pooled(client)["certainty"]
    assert overall["after"]["statement"] == pooled(client)["statement"]
    # Three trials were narrative, four are pooled: the conclusion changes.
    assert overall["before"]["summary"]["status"] == "insufficient_evidence"
    assert overall["conclusion_changed"] is True
    assert "status" in overall["reasons"]
    categories = [c["category"] for c in preview["cells"]]
    assert categories == [None, "peer-group", "one-to-one", "peer-run-service"]
    untouched = next(c for c in preview["cells"] if c["category"] == "one-to-one")
    assert (untouched["conclusion_changed"], untouched["reasons"]) == (False, [])


def test_preview_of_a_batch_equals_the_batch(client: TestClient, actors: Actors, dump: Any) -> None:
    add_batch(client, actors.trusted, [trial(s) for s in (0.2, 0.3, 0.1, 0.4)])
    bodies = [trial(0.5, n=50), trial(0.6, n=70)]
    before = dump()
    preview = _preview(client, actors.submitter, {"studies": bodies})
    assert dump() == before
    written = add_batch(client, actors.trusted, bodies)
    assert preview["pooled_changes"] == changes_of(client, written)


def test_preview_refuses_what_the_write_refuses(
    client: TestClient, actors: Actors, dump: Any
) -> None:
    before = dump()
    bad = trial(0.4) | {"total_randomized": 1}
    response = client.post("/v1/studies/preview", json=bad, headers=actors.submitter)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "total_randomized"
    assert client.post("/v1/studies/preview", json=trial(0.4)).status_code == 401
    assert dump() == before


def test_a_pending_write_previews_its_inclusion(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    body = trial(0.9)
    preview = _preview(client, actors.submitter, body)
    pending = create(client, actors.submitter, body)
    assert pending["study"]["status"] == "pending"
    # The write computes no preview: it links one (the study as if included).
    linked = client.get(pending["preview"], headers=actors.submitter)
    assert linked.status_code == 200, linked.text
    (change,) = linked.json()["pooled_changes"]
    assert (change["before"]["k"], change["after"]["k"]) == (4, 5)
    (previewed,) = preview["pooled_changes"]
    numbers = {"before", "after"}  # the same numbers, one version later (after the write)
    for side in numbers:
        assert change[side] | {"evidence_version": 0} == previewed[side] | {"evidence_version": 0}
    assert change["after"]["evidence_version"] == previewed["after"]["evidence_version"] + 1
    # Not counted: the pooled result at the new version still has four studies ...
    assert pooled(client)["k"] == 4
    # ... until a curator includes it, when the numbers are the previewed ones.
    included = action(client, actors.curator, pending["study"]["id"], "include").json()
    (counted,) = changes_of(client, included)
    assert counted["counted"] is True
    drop = {"evidence_version"}
    assert {k: v for k, v in counted["after"].items() if k not in drop} == {
        k: v for k, v in change["after"].items() if k not in drop
    }
