"""The running application's garbage collector: start-up frozen, young collections rarer."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.main import GC_THRESHOLDS, create_app
from service.settings import Settings

pytestmark = pytest.mark.db


def test_the_app_collects_less_often_while_it_runs_and_restores_the_thresholds(
    tmp_path: Path,
) -> None:
    before = gc.get_threshold()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'blank.sqlite3'}",
        conclusions_in_api=False,
        webhooks_deliver_in_api=False,
    )
    with TestClient(create_app(settings)):
        assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_threshold() == before
