"""Per-key rate limiting: off by default, 429 with Retry-After past the limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api.rate_limit import RateLimiter
from service.errors import RateLimitedError
from service.main import create_app
from service.settings import Settings
from tests.api.conftest import Auth, MakeKey

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_limiter_counts_per_key_and_window() -> None:
    clock = FakeClock(600.0)
    limiter = RateLimiter(2, clock=clock)
    limiter.hit(1)
    limiter.hit(1)
    limiter.hit(2)
    clock.now = 615.5
    with pytest.raises(RateLimitedError) as caught:
        limiter.hit(1)
    assert caught.value.extra["headers"] == {"Retry-After": "45"}
    clock.now = 660.0
    limiter.hit(1)


def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock(659.9)
    limiter = RateLimiter(1, clock=clock)
    limiter.hit(1)
    with pytest.raises(RateLimitedError) as caught:
        limiter.hit(1)
    assert caught.value.extra["retry_after"] == 1


def test_zero_disables_the_limiter() -> None:
    limiter = RateLimiter(0)
    for _ in range(10_000):
        limiter.hit(1)


def test_off_by_default_and_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    assert create_app(Settings(database_url=url)).state.rate_limiter.per_minute == 0
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "7")
    assert create_app(Settings(database_url=url)).state.rate_limiter.per_minute == 7


def test_default_settings_never_answer_429(
    client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    headers = auth(make_key(["read"]))
    statuses = {client.get("/v1/versions", headers=headers).status_code for _ in range(70)}
    assert statuses == {200}


def test_a_key_over_its_limit_gets_429_with_retry_after(
    app: FastAPI, client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    clock = FakeClock(1200.0 + 20.0)
    app.state.rate_limiter = RateLimiter(3, clock=clock)
    busy, other = auth(make_key(["read"])), auth(make_key(["submit"]))
    assert [client.get("/v1/versions", headers=busy).status_code for _ in range(3)] == [200] * 3

    refused = client.get("/v1/versions", headers=busy)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "40"
    body = refused.json()
    assert body["status"] == 429
    assert body["type"].endswith("/rate-limited")
    assert body["retry_after"] == 40

    # Other keys and anonymous readers are not affected; writes count too.
    assert client.get("/v1/versions", headers=other).status_code == 200
    assert client.get("/v1/versions").status_code == 200
    assert client.post("/v1/studies", json={}, headers=busy).status_code == 429

    clock.now = 1260.0
    assert client.get("/v1/versions", headers=busy).status_code == 200


def test_an_invalid_key_is_401_not_counted(
    app: FastAPI, client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    app.state.rate_limiter = RateLimiter(1, clock=FakeClock(0.0))
    key = make_key(["read"])
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for _ in range(3):
        assert client.get("/v1/versions", headers=auth(wrong)).status_code == 401
    assert client.get("/v1/versions", headers=auth(key)).status_code == 200
