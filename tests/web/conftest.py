"""The page tests' fixtures: the API tests' keys, and one headless Chromium for the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver

from tests.api.conftest import auth, make_key
from tests.web.browser import chromium

__all__ = ["auth", "browser", "make_key"]


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """One browser per test process: starting Chromium costs seconds, a page costs milliseconds."""
    yield from chromium()
