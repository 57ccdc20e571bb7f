"""The write benchmark's probes against the real API (no timing is asserted).

``make bench`` failed at its last step when the event cursors changed form and its lag probe
still made cursors of the old one: every poll was a 422, read as a missing key. The probes
run here against the application, so a change to the feed breaks a test, not the benchmark.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bench.writes import OUTCOME, Writes
from tests.api.conftest import MakeKey

pytestmark = [pytest.mark.db, pytest.mark.dialect_free]


def test_the_lag_probe_sees_a_writes_pooled_change_in_the_feed(
    client: TestClient, make_key: MakeKey
) -> None:
    probe = Writes(str(client.base_url), make_key(["submit"], trusted=True), make_key(["submit"]))
    probe.client = client  # the application in this process, its writes concluded inline
    probe.posts(probe.trusted, 1)
    before = probe.newest_event()
    body = probe.factory.study(outcome=OUTCOME)
    written = client.post("/v1/studies", json=body, headers=probe.trusted).json()
    version = written["evidence_version"]
    assert probe.newest_event() > before
    assert probe.published(before, version)
    assert not probe.published(before, version + 1)
