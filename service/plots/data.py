"""What the plots draw: plain frozen dataclasses, built by the use cases.

Nothing here imports matplotlib: the modules that build these import the drawing modules (and
so matplotlib) only when a plot is first rendered, not at start-up (issue 24).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StudyPoint:
    """One study: its effect (Hedges' g), its own interval and its percent weight."""

    label: str
    yi: float
    vi: float
    ci_lower: float
    ci_upper: float
    weight: float | None
    group: str
    risk_of_bias: str | None = None  # the overall judgement (RoB 2/RoB 1); None: not assessed
    warnings: int = 0  # data warnings stored with its results: marked in the plot


@dataclass(frozen=True, slots=True)
class Diamond:
    """A pooled estimate with its confidence interval."""

    label: str
    estimate: float
    ci_lower: float
    ci_upper: float


@dataclass(frozen=True, slots=True)
class PooledStats:
    """The numbers of the forest plot's footer (``None``: the data cannot define it)."""

    k: int
    participants: int
    tau2: float | None
    i2: float | None
    q: float | None
    q_df: int
    q_p_value: float | None
    statistic: float | None
    statistic_name: str
    p_value: float | None


@dataclass(frozen=True, slots=True)
class Caption:
    """What every plot says about itself: its title, where its numbers come from."""

    title: str
    evidence: str
    certainty: str | None = None


@dataclass(frozen=True, slots=True)
class ForestData:
    """A forest plot. ``pooled`` is ``None`` for a narrative synthesis, with ``no_pooling``
    saying why; ``subgroups`` holds one diamond per group (empty: no grouping)."""

    caption: Caption
    level: float
    studies: tuple[StudyPoint, ...]
    pooled: Diamond | None
    prediction: tuple[float, float] | None
    stats: PooledStats | None
    subgroups: tuple[Diamond, ...] = ()
    no_pooling: str | None = None
    dependence: Diamond | None = None  # the three-level or CHE model of every effect (issue 29)
    method: str | None = None  # estimator, CI method and k, as the JSON answer names them
    bayes: Diamond | None = None  # the posterior median and credible interval (bayes=true)
    bayes_note: str | None = None  # its priors and P(effect > MID), for the footer


@dataclass(frozen=True, slots=True)
class FunnelData:
    """A contour-enhanced funnel plot; ``filled`` are trim-and-fill's imputed studies."""

    caption: Caption
    studies: tuple[StudyPoint, ...]
    estimate: float | None
    filled: tuple[tuple[float, float], ...] = ()
    method: str | None = None  # estimator, CI method and k, as the JSON answer names them


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """The pooled result after one evidence version (``None`` estimate: not pooled then)."""

    version: int
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    pi_lower: float | None
    pi_upper: float | None


@dataclass(frozen=True, slots=True)
class SequentialLimits:
    """The TSA-adjusted interval at the newest look of sequential monitoring (a decision aid)."""

    version: int
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class HistoryData:
    """The living trajectory of one outcome."""

    caption: Caption
    points: tuple[HistoryPoint, ...]
    sequential: SequentialLimits | None = None
    method: str | None = None  # estimator and CI method of every point


@dataclass(frozen=True, slots=True)
class RobRow:
    """One study's judgements by domain code (``None``: not assessed), and its weight (%)."""

    label: str
    judgements: tuple[tuple[str, str], ...]
    overall: str | None
    weight: float | None = None


@dataclass(frozen=True, slots=True)
class RobPlotData:
    """The studies of one analysis and the domains (codes and names) to draw."""

    caption: Caption
    tool: str
    domains: tuple[tuple[str, str], ...]
    rows: tuple[RobRow, ...]


@dataclass(frozen=True, slots=True)
class PrismaData:
    """The flow counts (see :mod:`service.usecases.surveillance.prisma`)."""

    identified: int
    duplicates_removed: int
    screened: int
    awaiting: int
    excluded: int
    included: int
    studies_in_review: int
    ongoing: int
    identified_by_source: Mapping[str, int] = field(default_factory=dict)
    excluded_by_reason: Mapping[str, int] = field(default_factory=dict)
