"""The cheap read path: known pooled URLs answered without the route, exactly as the route would."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

import service.usecases.judgement.answers as answers
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, trial
from tests.api.studies_support import Actors, create

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

URL = "/v1/outcomes/empowerment/pooled"
PER_REQUEST = {"x-request-id", "date"}


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _same(route: Response, fast: Response) -> None:
    assert (fast.status_code, fast.content) == (route.status_code, route.content)
    strip = lambda r: {k: v for k, v in r.headers.items() if k not in PER_REQUEST}  # noqa: E731
    assert strip(fast) == strip(route)


def _refuse_the_route(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    version = answers.current_version

    def counted(session: object) -> int:
        calls.append("route")
        return version(session)  # type: ignore[arg-type]

    monkeypatch.setattr(answers, "current_version", counted)
    return calls


@pytest.mark.parametrize("encoding", ["identity", "gzip", "br, gzip"])
def test_a_known_url_is_answered_without_the_route(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    add_batch(client, actors.trusted, [trial(0.05 * i) for i in range(12)])
    params = {"min_k": "5", "sections": "egger"}
    headers = {"Accept-Encoding": encoding}
    route = client.get(URL, params=params, headers=headers)
    route_304 = client.get(
        URL, params=params, headers={**headers, "If-None-Match": route.headers["etag"]}
    )
    calls = _refuse_the_route(monkeypatch)
    fast = client.get(URL, params=params, headers=headers)
    fast_304 = client.get(
        URL, params=params, headers={**headers, "If-None-Match": route.headers["etag"]}
    )
    assert calls == []
    _same(route, fast)
    _same(route_304, fast_304)
    assert fast_304.status_code == 304

    create(client, actors.submitter, trial(0.9))  # pending: a new version, unchecked here
    assert client.get(URL, params=params, headers=headers).content == route.content
    assert calls == ["route"]  # the route caught the process up; then memory suffices again
    assert client.get(URL, params=params, headers=headers).content == route.content
    assert calls == ["route"]


def test_credentials_and_unknown_urls_take_the_route(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    assert client.get(URL).status_code == 200
    calls = _refuse_the_route(monkeypatch)
    assert client.get(URL, headers={"Authorization": "Bearer not-a-key"}).status_code == 401
    assert client.get(URL, params={"min_k": 3}).status_code == 200
    assert client.get(URL, params={"view": "nonsense"}).status_code == 422
    assert calls == ["route"]  # the 401 and the 422 never reach the use case
    create(client, actors.trusted, trial(0.5))
    fresh = client.get(URL).json()
    assert (fresh["k"], fresh["evidence_version"]) == (5, 2)


def test_a_known_url_asked_for_csv_gets_csv(client: TestClient, actors: Actors) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])
    json_answer = client.get(URL)
    assert client.get(URL).headers["content-type"] == "application/json"  # now known
    as_csv = client.get(URL, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["etag"] != json_answer.headers["etag"]
