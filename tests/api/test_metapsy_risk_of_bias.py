"""Metapsy's RoB 2 columns become each result's RoB 2 assessment, and read back the same.

On a constructed file (every rule of the mapping) and on the published database
(``../shared/data``, skipped when absent): every domain judgement of every imported result is
the file's, and the overall judgement is the file's where the RoB 2 algorithm allows it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import METAPSY_FILE, post_import
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

WORDS = {"Low risk": "low", "Some concerns": "some_concerns", "High risk": "high"}
COLUMNS = (
    '"";"study";"condition_arm1";"condition_arm2";"outcome_type";"instrument";'
    '"outcome_subcategory";"time";"time_weeks";"mean_arm1";"sd_arm1";"n_arm1";"mean_arm2";'
    '"sd_arm2";"n_arm2";"year";"country";"disorder";"format";'
    '"RoB_D1";"RoB_D2";"RoB_D3";"RoB_D4";"RoB_D5";"overall_RoB"'
)


def _row(n: int, study: str, year: int, rob: str) -> str:
    return (
        f'"{n}";"{study}, {year}";"Peer support";"WL";"msd";"Empowerment Scale";'
        f'"Empowerment/Self-efficacy";"post";12;2,9;0,4;40;2,8;0,45;41;{year};"NL";"SMI";'
        f'"Group";{rob}'
    )


CONSTRUCTED = "\n".join([
    COLUMNS,
    # Four domains at some concerns and "High risk" overall: the RoB 2 raise, with its reason.
    _row(1, "Raised", 2016, '"Some concerns";"Low risk";"Some concerns";"Some concerns";'
         '"Some concerns";"High risk"'),
    # The file says low where the algorithm says some concerns: kept as reported_overall.
    _row(2, "Lenient", 2017, '"Low risk";"Low risk";"Low risk";"Low risk";"Some concerns";'
         '"Low risk"'),
    _row(3, "Clean", 2018, '"Low risk";"Low risk";"Low risk";"Low risk";"Low risk";"Low risk"'),
    # A domain missing: no assessment (the quality rating still comes from overall_RoB).
    _row(4, "Partial", 2019, '"Low risk";NA;"Low risk";"Low risk";"Low risk";"Low risk"'),
]) + "\n"  # fmt: skip


@pytest.fixture
def curator(make_key: MakeKey, auth: Auth) -> dict[str, str]:
    return Actors(make_key, auth).curator


def _assessments(client: TestClient) -> dict[str, list[dict[str, Any] | None]]:
    studies = client.get("/v1/studies", params={"limit": 200}).json()["items"]
    return {s["authors"]: [r["risk_of_bias"] for r in s["outcome_results"]] for s in studies}


def test_the_mapping_rules_on_a_constructed_file(
    client: TestClient, curator: dict[str, str]
) -> None:
    response = post_import(client, curator, CONSTRUCTED, fmt="metapsy")
    assert response.status_code == 201, response.text
    stored = {name: found[0] for name, found in _assessments(client).items()}
    raised = stored["Raised"]
    assert raised is not None
    assert (raised["overall"], raised["overall_by_algorithm"]) == ("high", "some_concerns")
    assert raised["raised_to_high"] == "Metapsy overall_RoB"
    assert raised["reported_overall"] is None
    assert [d["judgement"] for d in raised["domains"].values()] == [
        "some_concerns", "low", "some_concerns", "some_concerns", "some_concerns",
    ]  # fmt: skip
    lenient = stored["Lenient"]
    assert lenient is not None
    assert (lenient["overall"], lenient["reported_overall"]) == ("some_concerns", "low")
    clean = stored["Clean"]
    assert clean is not None
    assert (clean["overall"], clean["reported_overall"], clean["tool"]) == ("low", None, "rob2")
    assert stored["Partial"] is None


@pytest.fixture(scope="module")
def metapsy() -> str:
    return METAPSY_FILE.read_text(encoding="utf-8")


def test_the_published_databases_rob_values_round_trip(
    client: TestClient, curator: dict[str, str], metapsy: str
) -> None:
    assert post_import(client, curator, metapsy, fmt="metapsy").status_code == 201
    rows = list(csv.DictReader(io.StringIO(metapsy), delimiter=";"))
    by_line = dict(enumerate(rows, start=2))
    compared = 0
    for study in client.get("/v1/studies", params={"limit": 200}).json()["items"]:
        for result in study["outcome_results"]:
            row = by_line[int(result["source_location"].removeprefix("Metapsy row "))]
            rob = result["risk_of_bias"]
            domains = [WORDS[row[f"RoB_D{i}"]] for i in range(1, 6)]
            assert [d["judgement"] for d in rob["domains"].values()] == domains
            file_overall = WORDS[row["overall_RoB"]]
            assert file_overall in (rob["overall"], rob["reported_overall"])
            compared += 1
    assert compared == 6  # the review's six results in the file
