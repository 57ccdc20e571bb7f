"""Cursors (issue 25): the spec's pattern matches every cursor and nothing else.

A cursor is a position as four big-endian bytes in unpadded base64url; every string the
pattern matches decodes to a position from 0 to 2**31 - 1 and encodes back to itself, so a
schema-valid cursor is never refused, and anything else is a 422 naming the parameter. The
API tests run on both databases.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from service.api.pagination import decode_cursor, encode_cursor
from service.errors import InvalidInputError
from service.schemas.common import MAX_ID
from service.schemas.pagination import CURSOR_PATTERN
from tests.api.conftest import Auth, MakeKey
from tests.api.studies_support import Actors, create, problem_fields
from tests.factories import one_to_one_stigma_trial, peer_group_trial

OLD_FORM = "MQ"  # base64url of "1": the form before issue 25, no longer handed out


@given(st.integers(min_value=0, max_value=MAX_ID))
def test_every_position_has_a_cursor_of_the_pattern(position: int) -> None:
    cursor = encode_cursor(position)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == position


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_string_of_the_pattern_is_a_cursor(cursor: str) -> None:
    position = decode_cursor(cursor)
    assert position is not None
    assert 0 <= position <= MAX_ID
    assert encode_cursor(position) == cursor


@pytest.mark.parametrize("text", ["", OLD_FORM, "gAAAAA", "AAAAAB", "AAAAA=", "!!!!!!", "AAAAAAA"])
def test_anything_else_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        decode_cursor(text, "after")
    assert raised.value.extra["errors"][0]["field"] == "after"


@pytest.mark.db
def test_a_cursor_of_another_form_is_a_problem_naming_it(client: TestClient) -> None:
    for path in ("/v1/versions", "/v1/studies"):
        response = client.get(path, params={"cursor": OLD_FORM})
        assert problem_fields(response) == {"cursor"}
        [error] = response.json()["errors"]
        assert "next_cursor unchanged" in error["message"]
    assert problem_fields(client.get("/v1/events", params={"after": OLD_FORM})) == {"after"}


@pytest.mark.db
def test_any_well_formed_cursor_is_answered(
    client: TestClient, make_key: MakeKey, auth: Auth
) -> None:
    who = Actors(make_key, auth)
    first = create(client, who.trusted, peer_group_trial())["study"]["id"]
    second = create(client, who.trusted, one_to_one_stigma_trial())["study"]["id"]
    start, end = encode_cursor(0), encode_cursor(MAX_ID)

    def ids(path: str, cursor: str) -> list[int]:
        response = client.get(path, params={"cursor": cursor})
        assert response.status_code == 200, response.text
        return [item.get("id", item.get("number")) for item in response.json()["items"]]

    # oldest first: the list after position 0 is all of it, after the largest id nothing
    assert ids("/v1/studies", start) == [first, second]
    assert ids("/v1/studies", encode_cursor(first)) == [second]
    assert ids("/v1/studies", end) == []
    # newest first: before the largest position is all of it, before position 0 nothing
    assert ids("/v1/versions", end) == [2, 1]
    assert ids("/v1/versions", encode_cursor(2)) == [1]
    assert ids("/v1/versions", start) == []
