"""The benchmark tests' fixtures: the API tests' keys, for the probes run against the app."""

from __future__ import annotations

from tests.api.conftest import make_key

__all__ = ["make_key"]
