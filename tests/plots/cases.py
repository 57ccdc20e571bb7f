"""Fixed plot data for the golden files and the plot tests."""

from __future__ import annotations

from service.plots.data import (
    Caption,
    Diamond,
    ForestData,
    FunnelData,
    HistoryData,
    HistoryPoint,
    PooledStats,
    SequentialLimits,
    StudyPoint,
)

CAPTION = Caption("Empowerment: forest plot", "Evidence version 12 of 2026-12-01; engine 1.0.0")


def studies(k: int = 6) -> tuple[StudyPoint, ...]:
    groups = ("one-to-one", "peer-group")
    return tuple(
        StudyPoint(
            label=f"Author{i} A {2010 + i % 15} (#{i + 1})",
            yi=round(0.07 * (i % 9) - 0.1, 4),
            vi=0.02 + 0.005 * (i % 4),
            ci_lower=round(0.07 * (i % 9) - 0.1 - 0.3, 4),
            ci_upper=round(0.07 * (i % 9) - 0.1 + 0.3, 4),
            weight=round(100 / k, 3),
            group=groups[i % 2],
        )
        for i in range(k)
    )


STATS = PooledStats(6, 480, 0.0123, 23.4, 6.53, 5, 0.258, 3.1, "t", 0.027)


def grouped_forest(k: int = 6) -> ForestData:
    return ForestData(
        caption=CAPTION,
        level=0.95,
        studies=studies(k),
        pooled=Diamond("Random effects (REML, hksj)", 0.2, 0.05, 0.35),
        prediction=(-0.1, 0.5),
        stats=STATS,
        subgroups=(Diamond("one-to-one", 0.1, -0.1, 0.3), Diamond("peer-group", 0.3, 0.1, 0.5)),
    )


def narrative_forest() -> ForestData:
    return ForestData(
        caption=Caption(
            "Internalized stigma <one-to-one>: forest plot",
            "Evidence version 3 of 2026-12-01; engine 1.0.0",
            certainty="Low. Peer support may reduce internalized stigma & shame.",
        ),
        level=0.95,
        studies=studies(3),
        pooled=None,
        prediction=None,
        stats=None,
        no_pooling="3 randomized studies; the review pools from 4.",
    )


def funnel() -> FunnelData:
    return FunnelData(
        Caption("Empowerment: funnel plot", CAPTION.evidence),
        studies(8),
        0.2,
        filled=((0.05, 0.04), (-0.1, 0.03)),
    )


def history() -> HistoryData:
    points = tuple(
        HistoryPoint(v, None, None, None, None, None)
        if v < 4
        else HistoryPoint(v, 0.1 + 0.02 * v, -0.1 + 0.03 * v, 0.3 + 0.01 * v, -0.3, 0.6)
        for v in range(1, 9)
    )
    caption = Caption("Empowerment: pooled estimate over time", CAPTION.evidence)
    return HistoryData(caption, points, SequentialLimits(8, 0.02, 0.62))
