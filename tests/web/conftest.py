"""The API tests' key fixtures, for the page tests."""

from tests.api.conftest import auth, make_key

__all__ = ["auth", "make_key"]
