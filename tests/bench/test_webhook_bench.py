"""The webhook benchmark's table (no timing is asserted)."""

from __future__ import annotations

from bench.webhooks import render


def test_table_marks_the_targets() -> None:
    rows = [
        (
            "SQLite",
            {
                "latency": {"p50": 0.2, "p99": 0.4, "n": 30},
                "throughput": {"per_s": 150.0, "n": 1000, "threads": 4},
            },
        )
    ]
    table = render(rows)
    assert "200 ms / 400 ms (n = 30) (met)" in table
    assert "150 (n = 1000, 4 threads) (MISSED)" in table
