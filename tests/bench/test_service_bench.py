"""The service benchmark's payloads and tables, without a server (no timing is asserted)."""

from __future__ import annotations

from bench.service import BackendResult, notes, render, target_checks
from bench.studies import StudyFactory
from service.schemas.studies import StudyBatchCreate


def test_synthetic_studies_are_valid_and_distinct() -> None:
    studies = StudyFactory(seed=1, prefix="t").batch(200)

    batch = StudyBatchCreate.model_validate({"studies": studies})

    assert len(batch.studies) == 200
    assert len({s["doi"] for s in studies}) == 200
    assert len({s["registration_id"] for s in studies}) == 200
    assert {s["category"] for s in studies} == {"peer-group", "one-to-one", "peer-run-service"}
    outcomes = {r["outcome"] for s in studies for r in s["outcome_results"]}
    assert outcomes == {"empowerment", "self-efficacy", "internalized-stigma"}


def test_a_forced_outcome_is_reported() -> None:
    factory = StudyFactory(seed=2)

    for _ in range(20):
        study = factory.study(outcome="internalized-stigma")
        assert "internalized-stigma" in {r["outcome"] for r in study["outcome_results"]}


def test_table_marks_targets_and_what_was_not_measured() -> None:
    measured = BackendResult("SQLite")
    measured.figures["batch"] = {"studies_per_s": 3_234.0}
    measured.figures["post"] = {"n": 9, "p50": 0.045, "p99": 0.09, "pooled_changes": True}
    missing = BackendResult("PostgreSQL", notes=["the run failed: boom"])

    table = render([measured, missing])

    assert "3,234 (met)" in table
    assert "45 ms / 90 ms (n = 9) (MISSED)" in table
    assert "n/a" in table
    assert notes([measured, missing], ["x"]) == ["x", "PostgreSQL: the run failed: boom"]
    statuses = {name: ok for name, _, ok in target_checks([measured])}
    batch = "SQLite: batch import, 10 x 1,000 studies: >= 3,000 (SQLite), 2,000 (PostgreSQL)"
    assert statuses[batch] is True
    assert statuses["SQLite: POST /v1/studies, one study: p50 <= 15 ms"] is False
    assert (
        statuses["SQLite: pooled GET cached, 32 connections: >= 1,500 req/s, p99 <= 50 ms"] is None
    )


def test_wrk_output_is_parsed_and_the_stack_table_marks_ratios() -> None:
    from bench.stack import parse_wrk, render

    output = """Running 3s test @ http://127.0.0.1:1/x
  Latency Distribution
     50%    1.50ms
     75%    2.00ms
     90%    3.00ms
     99%  250.00us
  9000 requests in 3.00s, 1.00MB read
  Non-2xx or 3xx responses: 7
Requests/sec:   3000.50
"""
    figures = parse_wrk(output)
    assert figures == {"rps": 3000.5, "p50": 0.0015, "p99": 0.00025, "errors": 7}
    fast = {"rps": 600.0, "p99": 0.01}
    slow = {"rps": 400.0, "p99": 0.01}
    bare = {"get": {"rps": 1000.0}, "poll": {"rps": 1000.0}}
    read = {"untouched_poll": 304, "full_bytes": 20_000, "gzip_bytes": 5_000, "summary_bytes": 600}
    sizes = {50: {"bytes": 20_000, "get": fast, "poll": slow, "bare": bare, "read_side": read}}
    table = render({"SQLite": sizes, "PostgreSQL": {50: {"failed": "boom"}}})
    assert "0.6x (met)" in table
    assert "0.4x (**missed**)" in table
    assert "304 (met)" in table
    assert "boom" in table
