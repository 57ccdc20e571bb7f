"""Batched imports (``batch_size``): a transaction and a version per batch, a cursor to resume
from after a bad row, and the same pooled answers as a one-transaction import. Each test has
databases of its own, because the batches commit (the shared test transaction cannot hold them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.api.exchange_support import empty_app, newest_version, without_ids
from tests.api.pooled_support import pooled

pytestmark = [pytest.mark.db, pytest.mark.unconcluded]

HEADER = "study,year,category,quality,outcome,instrument,weeks,m1i,sd1i,n1i,m2i,sd2i,n2i"
STUDIES = 10
BATCH = 3
BAD_STUDY = 8  # in the third batch (studies 7-9)
SPECS: list[dict[str, Any]] = [{}, {"estimator": "DL"}, {"category": "peer-group"}]


def _row(study: int, *, outcome: str = "empowerment", sd: str | None = None) -> str:
    category = "peer-group" if study % 2 else "one-to-one"
    instrument = "empowerment-scale" if outcome == "empowerment" else "general-self-efficacy-scale"
    control = 2.7 if outcome == "empowerment" else 26.0
    control_sd = "0.5" if outcome == "empowerment" else "5"
    sd = control_sd if sd is None else sd
    mean = control + (0.03 if outcome == "empowerment" else 0.2) * study
    return (
        f'"Author{study:02d}, {2000 + study}",{2000 + study},{category},strong,{outcome},'
        f"{instrument},12,{mean:.2f},{sd},{30 + study},{control},{control_sd},{31 + study}"
    )


def _file(*, bad: bool) -> str:
    """Ten studies, one row each, and a second result of study 1 on the file's last row (so a
    study's rows need not be together); with ``bad``, study 8 reports an SD of 0."""
    rows = [_row(s, sd="0" if bad and s == BAD_STUDY else None) for s in range(1, STUDIES + 1)]
    rows.append(_row(1, outcome="self-efficacy"))
    return "\n".join([HEADER, *rows]) + "\n"


def _row_of(study: int) -> int:
    return study + 1  # the header is row 1


def _post(client: TestClient, curator: dict[str, str], text: str, **params: Any) -> Response:
    return client.post(
        "/v1/imports",
        params={"format": "csv", **params},
        content=text.encode(),
        headers={**curator, "Content-Type": "text/csv"},
    )


@pytest.fixture
def batched(backend: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    (tmp_path / "batched").mkdir()
    with empty_app(backend, tmp_path / "batched") as found:
        yield found


@pytest.fixture
def one_shot(backend: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    (tmp_path / "one-shot").mkdir()
    with empty_app(backend, tmp_path / "one-shot") as found:
        yield found


def test_a_bad_row_in_batch_3_keeps_batches_1_and_2_and_resuming_completes_the_import(
    batched: tuple[TestClient, dict[str, str]], one_shot: tuple[TestClient, dict[str, str]]
) -> None:
    client, curator = batched

    stopped = _post(client, curator, _file(bad=True), batch_size=BATCH)

    assert stopped.status_code == 422, stopped.text
    problem = stopped.json()
    assert problem["resume_from"] == _row_of(7)  # batch 3 begins with study 7
    assert problem["evidence_versions"] == [1, 2]
    assert len(problem["created_study_ids"]) == 6
    assert [(e["row"], e["column"]) for e in problem["errors"]] == [(_row_of(BAD_STUDY), "sd1i")]
    assert f"resume_from={_row_of(7)}" in problem["detail"]
    assert newest_version(client) == 2
    stored = client.get("/v1/studies", params={"limit": 100}).json()["items"]
    assert sorted(s["authors"] for s in stored) == [f"Author{s:02d}" for s in range(1, 7)]
    first = next(s for s in stored if s["authors"] == "Author01")
    assert len(first["outcome_results"]) == 2  # its last-row result came with batch 1

    resumed = _post(client, curator, _file(bad=False), batch_size=BATCH, resume_from=_row_of(7))

    assert resumed.status_code == 201, resumed.text
    report = resumed.json()
    assert (report["new_studies"], report["resume_from"]) == (4, None)
    assert report["evidence_versions"] == [3, 4]  # studies 7-9, then study 10
    assert resumed.headers["Location"] == "/v1/versions/4"
    again = _post(client, curator, _file(bad=False), batch_size=BATCH)
    assert again.status_code == 200, again.text
    assert (again.json()["new_studies"], len(again.json()["matched"])) == (0, STUDIES)
    assert newest_version(client) == 4

    target, target_curator = one_shot
    assert _post(target, target_curator, _file(bad=False)).status_code == 201
    assert newest_version(target) == 1
    for outcome in ("empowerment", "self-efficacy"):
        for spec in SPECS:
            batched_answer = pooled(client, outcome, **spec)
            one_shot_answer = pooled(target, outcome, **spec)
            assert without_ids(batched_answer) == without_ids(one_shot_answer), (outcome, spec)
            assert _labels(batched_answer) == _labels(one_shot_answer)


def _labels(answer: dict[str, Any]) -> list[str]:
    return [re.sub(r" \(#\d+\)$", "", s["label"]) for s in answer["studies"]]


def test_a_bad_first_batch_stores_nothing_and_a_dry_run_writes_nothing(
    batched: tuple[TestClient, dict[str, str]],
) -> None:
    client, curator = batched
    bad_first = _file(bad=False).replace(_row(2), _row(2, sd="0"))

    dry = _post(client, curator, bad_first, batch_size=BATCH, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert (dry.json()["new_studies"], dry.json()["evidence_versions"]) == (STUDIES - 1, [])
    refused = _post(client, curator, bad_first, batch_size=BATCH)

    assert refused.status_code == 422
    assert (refused.json()["resume_from"], refused.json()["evidence_versions"]) == (2, [])
    assert "the batch beginning at row 2" in refused.json()["detail"]
    assert newest_version(client) == 0


def test_resume_from_without_batches_stores_the_rest_in_one_version(
    batched: tuple[TestClient, dict[str, str]],
) -> None:
    client, curator = batched

    rest = _post(client, curator, _file(bad=False), resume_from=_row_of(4))

    assert rest.status_code == 201, rest.text
    assert rest.json()["new_studies"] == STUDIES - 3
    assert rest.json()["evidence_versions"] == [1]
    stored = client.get("/v1/studies", params={"limit": 100}).json()["items"]
    assert sorted(s["authors"] for s in stored) == [f"Author{s:02d}" for s in range(4, 11)]


@pytest.mark.parametrize("params", [{"batch_size": 0}, {"resume_from": 1}, {"batch_size": "x"}])
def test_batch_options_are_checked(
    batched: tuple[TestClient, dict[str, str]], params: dict[str, Any]
) -> None:
    client, curator = batched
    response = _post(client, curator, _file(bad=False), **params)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["detail"]
