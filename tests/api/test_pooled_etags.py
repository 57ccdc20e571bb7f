"""Pooled ETags by each outcome's included evidence, and compressed answers."""

from __future__ import annotations

import gzip

import brotli
import pytest
import zstandard
from fastapi.testclient import TestClient

from service.db.repositories.pooled import PooledRepository
from tests.api.conftest import Auth, MakeKey
from tests.api.pooled_support import add_batch, outcome_result, trial
from tests.api.studies_support import Actors, action, create

pytestmark = pytest.mark.db

URL = "/v1/outcomes/empowerment/pooled"
STIGMA_URL = "/v1/outcomes/internalized-stigma/pooled"
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _stigma(shift: float) -> dict[str, object]:
    return outcome_result(shift, outcome="internalized-stigma", instrument="ismi")


def _poll(client: TestClient, url: str, etag: str) -> int:
    return client.get(url, headers={"If-None-Match": etag, **IDENTITY}).status_code


def _raw(client: TestClient, url: str, encoding: str) -> tuple[dict[str, str], bytes]:
    """Headers and the body exactly as sent (not decoded by the client)."""
    with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as response:
        assert response.status_code == 200
        return dict(response.headers), b"".join(response.iter_raw())


def test_an_unrelated_write_keeps_the_etag_and_the_cache_hit(
    client: TestClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_batch(client, actors.trusted, [trial(0.1 * i) for i in range(4)])  # version 1
    first = client.get(URL, headers=IDENTITY)
    etag = first.headers["etag"]
    table = client.get("/v1/pooled", headers=IDENTITY)
    assert (first.json()["evidence_version"], first.headers["evidence-checked-version"]) == (1, "1")

    pending = create(client, actors.submitter, trial(0.9))["study"]["id"]  # 2: pending
    create(client, actors.trusted, trial(results=[_stigma(0.2)]))  # 3: another outcome

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("evidence loaded for an answer that was already known")

    with monkeypatch.context() as patched:
        patched.setattr(PooledRepository, "evidence", refuse)
        assert _poll(client, URL, etag) == 304
        again = client.get(URL, headers=IDENTITY)  # a cache hit, byte for byte
        assert (again.content, again.headers["etag"]) == (first.content, etag)
        assert again.headers["evidence-checked-version"] == "3"
        for version in (1, 2, 3):  # as_of maps to the same entry and the same bytes
            pinned = client.get(URL, params={"as_of": version}, headers=IDENTITY)
            assert (pinned.content, pinned.headers["etag"]) == (first.content, etag)
    # The table depends on every outcome: the stigma trial changed it, the pending one did not.
    assert client.get("/v1/pooled", params={"as_of": 2}, headers=IDENTITY).content == table.content
    assert _poll(client, "/v1/pooled", table.headers["etag"]) == 200

    assert action(client, actors.curator, pending, "include").is_success  # 4
    changed = client.get(URL, headers={"If-None-Match": etag, **IDENTITY})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert (changed.json()["evidence_version"], changed.json()["k"]) == (4, 5)


def test_a_write_to_one_outcome_keeps_the_other_outcomes_304(
    client: TestClient, actors: Actors
) -> None:
    studies = [trial(results=[outcome_result(0.1 * i), _stigma(0.2 * i)]) for i in range(5)]
    add_batch(client, actors.trusted, studies)  # 1: both outcomes
    stigma = client.get(STIGMA_URL, headers=IDENTITY).headers["etag"]
    empowerment = client.get(URL, headers=IDENTITY).headers["etag"]
    create(client, actors.trusted, trial(0.4))  # 2: empowerment only
    create(client, actors.submitter, trial(results=[_stigma(0.5)]))  # 3: pending stigma
    assert _poll(client, STIGMA_URL, stigma) == 304
    assert _poll(client, URL, empowerment) == 200
    history = client.get("/v1/outcomes/internalized-stigma/history", headers=IDENTITY)
    assert history.json()["evidence_version"] == 1
    assert _poll(client, "/v1/outcomes/internalized-stigma/history", history.headers["etag"]) == 304


@pytest.mark.parametrize(
    ("encoding", "decompress"),
    [
        ("gzip", gzip.decompress),
        ("br", brotli.decompress),
        ("zstd", zstandard.ZstdDecompressor().decompress),
    ],
)
def test_compressed_answers_decompress_to_the_same_bytes(
    client: TestClient, actors: Actors, encoding: str, decompress: object
) -> None:
    add_batch(client, actors.trusted, [trial(0.05 * i) for i in range(12)])
    plain = client.get(URL, headers=IDENTITY)
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept, Accept-Encoding"  # Accept: JSON or CSV
    assert callable(decompress)
    for _ in ("computed", "from the cache entry's compressed copy"):
        headers, body = _raw(client, URL, f"{encoding}, identity;q=0.5")
        assert headers["content-encoding"] == encoding
        assert headers["vary"] == "Accept, Accept-Encoding"
        assert decompress(body) == plain.content
        assert len(body) < len(plain.content) / 2
    etag = headers["etag"]
    assert etag == plain.headers["etag"][:-1] + f'-{encoding}"'  # one tag per representation
    for tag in (etag, plain.headers["etag"]):
        polled = client.get(URL, headers={"If-None-Match": tag, "Accept-Encoding": encoding})
        assert (polled.status_code, polled.headers["etag"]) == (304, etag)


def test_other_json_over_a_kilobyte_is_gzipped_and_small_bodies_are_not(
    client: TestClient, actors: Actors
) -> None:
    add_batch(client, actors.trusted, [trial(0.05 * i) for i in range(6)])
    plain = client.get("/v1/studies", headers=IDENTITY)
    assert len(plain.content) > 1024
    headers, body = _raw(client, "/v1/studies", "gzip")
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == plain.content
    small_headers, small = _raw(client, "/health", "gzip")
    assert "content-encoding" not in small_headers
    assert small == client.get("/health", headers=IDENTITY).content


def test_a_certainty_judgement_changes_its_outcome_etag_only(
    client: TestClient, actors: Actors
) -> None:
    studies = [trial(results=[outcome_result(0.1 * i), _stigma(0.2 * i)]) for i in range(5)]
    add_batch(client, actors.trusted, studies)
    empowerment = client.get(URL, headers=IDENTITY).headers["etag"]
    stigma = client.get(STIGMA_URL, headers=IDENTITY).headers["etag"]
    judged = client.post(
        "/v1/outcomes/empowerment/judgements",
        json={"domain": "indirectness", "downgrade": 1, "reason": "Mostly inpatients"},
        headers=actors.curator,
    )
    assert judged.status_code == 201, judged.text
    assert _poll(client, URL, empowerment) == 200  # its certainty changed
    assert _poll(client, STIGMA_URL, stigma) == 304
