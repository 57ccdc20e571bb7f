"""The published Metapsy peer-support database through POST /v1/imports, against metafor.

Reads ``../shared/data/metapsy-peer-support.csv`` in place (never copied into the repository;
skipped when ``../shared`` is absent). The reference numbers come from metafor on the same rows:
``reference/metapsy_empowerment.R`` wrote ``reference/metapsy_empowerment.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Auth, MakeKey
from tests.api.exchange_support import METAPSY_FILE, headline, newest_version, post_import
from tests.api.pooled_support import pooled
from tests.api.studies_support import Actors

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]
REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "metapsy_empowerment.json").read_text("utf-8")
)


@pytest.fixture(scope="module")
def metapsy() -> str:
    return METAPSY_FILE.read_text(encoding="utf-8")


@pytest.fixture
def curator(make_key: MakeKey, auth: Auth) -> dict[str, str]:
    return Actors(make_key, auth).curator


def test_the_dry_run_finds_the_reviews_trials_and_counts_the_rest(
    client: TestClient, curator: dict[str, str], metapsy: str
) -> None:
    report = post_import(client, curator, metapsy, fmt="metapsy", dry_run=True).json()

    assert (report["rows"], report["studies"], report["results"]) == (66, 6, 6)
    assert report["problems"] == []
    assert sum(report["skipped"].values()) == 66 - 6
    assert report["skipped"]["outcome not in the review: QoL"] == 16
    assert newest_version(client) == 0


def test_the_imported_empowerment_trials_pool_as_metafor_pools_the_same_rows(
    client: TestClient, curator: dict[str, str], metapsy: str
) -> None:
    imported = post_import(client, curator, metapsy, fmt="metapsy")
    assert imported.status_code == 201, imported.text

    answer = pooled(client, "empowerment")

    assert answer["status"] == "pooled"
    assert answer["k"] == REFERENCE["k"] == 4
    # The file's double-encoded "RÃ¼sch" is stored as "Rüsch".
    assert [s["label"].rsplit(" ", 2)[0] for s in answer["studies"]] == [
        name.split(",")[0].replace("Ã¼", "ü") for name in REFERENCE["studies"]
    ]
    _close([s["yi"] for s in answer["studies"]], REFERENCE["yi"])
    _close([s["vi"] for s in answer["studies"]], REFERENCE["vi"])
    for name, value in headline(answer["result"]).items():
        _close(value, REFERENCE[name], name)
    _close(answer["result"]["q"], REFERENCE["q"], "q")
    _close(answer["result"]["p_value"], REFERENCE["p_value"], "p_value")
    assert pooled(client, "self-efficacy")["k"] == 2  # narrated: too few trials


def _close(got: Any, expected: Any, name: str = "") -> None:
    assert got == pytest.approx(expected, rel=1e-6), name


def test_importing_the_file_twice_is_a_no_op(
    client: TestClient, curator: dict[str, str], metapsy: str
) -> None:
    first = post_import(client, curator, metapsy, fmt="metapsy")
    studies = client.get("/v1/studies").json()["items"]

    second = post_import(client, curator, metapsy, fmt="metapsy")

    assert first.status_code == 201
    assert second.status_code == 200, second.text
    report = second.json()
    assert report["new_studies"] == 0
    assert report["evidence_version"] is None
    assert {m["study_id"] for m in report["matched"]} == set(first.json()["created_study_ids"])
    assert {m["matched_by"] for m in report["matched"]} == {"source_study_id"}
    assert newest_version(client) == 1
    assert client.get("/v1/studies").json()["items"] == studies
