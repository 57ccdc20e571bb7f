"""Smoke test of the engine benchmark's code (no timing is asserted: benchmarks are not tests)."""

from __future__ import annotations

import math

from bench.engine import _optional, render, run_engine, simulate, target_checks


def test_engine_bench_runs_at_tiny_k_and_renders_a_table() -> None:
    rows = run_engine([20], budget=0.0, with_metafor=False, comparisons=False, log=lambda _: None)

    assert [row.name for row in rows] == ["service REML", "service PM", "metafor rma"]
    reml = rows[0]
    assert reml.k == 20
    assert reml.repeats >= 3
    assert reml.seconds > 0
    assert math.isfinite(reml.tau2)
    assert math.isfinite(reml.peak_mb)
    table = render(rows)
    assert table.splitlines()[0].startswith("| k ")
    assert "service REML" in table
    assert "not run (--no-metafor)" in table
    checks = target_checks(rows)  # the k = 20 target only (no statsmodels run)
    assert [(name, ok) for name, _, ok in checks] == [
        ("REML + HKSJ k = 20 at most 50 us", reml.seconds <= 50e-6)
    ]


def test_a_missing_comparison_library_is_reported_not_fatal() -> None:
    def make() -> None:
        raise ImportError("no", name="nonexistent")

    impl = _optional("x", "REML", "service REML", make)  # type: ignore[arg-type]

    assert impl.fit is None
    assert impl.missing == "not installed (nonexistent)"


def test_simulated_data_are_reproducible_and_valid() -> None:
    yi, vi = simulate(50)
    again, _ = simulate(50)

    assert (yi == again).all()
    assert (vi > 0).all()
    assert yi.shape == vi.shape == (50,)
