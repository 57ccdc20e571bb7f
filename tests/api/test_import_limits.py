"""POST /v1/imports at and past its limits: a long cell, too many columns or rows, a body over
MAX_BODY_BYTES; and fuzzed files for both formats: never a 5xx (SQLite and PostgreSQL).

Before: a cell over 131,072 characters was answered 500 (``_csv.Error: field larger than field
limit``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.usecases.exchange.tabular import MAX_CELL_CHARS, MAX_COLUMNS, MAX_ROWS
from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import newest_version, post_import
from tests.api.studies_support import Actors
from tests.api.test_exchange_import import CSV

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]


@pytest.fixture
def actors(make_key: MakeKey, auth: Auth) -> Actors:
    return Actors(make_key, auth)


def _with_title(title: str) -> str:
    return CSV.replace("Okafor, 2019", title.replace('"', '""'))


def test_a_cell_past_the_csv_modules_limit_is_422_naming_row_and_column(
    client: TestClient, actors: Actors
) -> None:
    response = post_import(client, actors.curator, _with_title("O" * 131_073), fmt="csv")
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["row"], error["column"]) == (4, "study")
    assert "row 4, column 'study'" in response.json()["detail"]
    assert newest_version(client) == 0


def test_a_cell_at_the_limit_is_read_and_one_past_it_is_422(
    client: TestClient, actors: Actors
) -> None:
    title = "O" * MAX_CELL_CHARS
    at = post_import(client, actors.curator, _with_title(title), fmt="csv", dry_run=True)
    assert at.status_code == 200, at.text  # read; then reported by the studies' own rules
    assert [p["column"] for p in at.json()["problems"]] == ["study"]
    past = post_import(client, actors.curator, _with_title("O" * (MAX_CELL_CHARS + 1)), fmt="csv")
    assert past.status_code == 422
    assert f"at most {MAX_CELL_CHARS}" in past.json()["detail"]


def test_too_many_columns_or_rows_are_422(client: TestClient, actors: Actors) -> None:
    wide = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n"
    response = post_import(client, actors.curator, wide, fmt="csv")
    assert response.status_code == 422
    assert f"at most {MAX_COLUMNS}" in response.json()["detail"]
    long = "study,year\n" + "a,1\n" * (MAX_ROWS + 1)
    response = post_import(client, actors.curator, long, fmt="csv")
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] == MAX_ROWS + 2
    assert newest_version(client) == 0


def test_a_file_over_the_body_limit_is_413(client: TestClient, actors: Actors) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    big = CSV + "\n" + ("," * 16 + "\n") * (limit // 17 + 1)
    response = post_import(client, actors.curator, big, fmt="csv")
    assert response.status_code == 413
    assert response.json()["max_body_bytes"] == limit


_CELL = st.one_of(
    st.sampled_from(["", "NA", "1", "-2,5", "0.3", "1e308", "nan", '"', "peer-group", "post"]),
    st.text(max_size=20),
)
_HEADERS = st.lists(
    st.sampled_from(
        [
            "study",
            "year",
            "category",
            "outcome",
            "instrument",
            "m1i",
            "sd1i",
            "n1i",
            "m2i",
            "sd2i",
            "n2i",
            "yi",
            "vi",
            "es",
            "se",
            "author",
            "primary_instrument",
            "x",
        ]
    ),
    min_size=1,
    max_size=10,
)


@st.composite
def _files(draw: st.DrawFn) -> tuple[str, str]:
    fmt = draw(st.sampled_from(["csv", "metapsy"]))
    delimiter = ";" if fmt == "metapsy" else ","
    header = draw(_HEADERS)
    rows = draw(st.lists(st.lists(_CELL, min_size=len(header), max_size=len(header)), max_size=4))
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    return fmt, "\n".join(lines) + draw(st.sampled_from(["", "\n", '\n"']))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(file=_files())
def test_fuzzed_files_never_get_a_5xx(
    client: TestClient, actors: Actors, file: tuple[str, str]
) -> None:
    fmt, text = file
    response = post_import(client, actors.curator, text, fmt=fmt, dry_run=True)
    assert response.status_code < 500, response.text
