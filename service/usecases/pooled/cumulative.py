"""One cumulative analysis: the evidence after a version, as a candidate monitoring look.

The DerSimonian-Laird random-effects fit with z inference that trial sequential analysis
uses for each look (Wetterslev et al. 2008; see :mod:`service.usecases.judgement.monitoring`).
Here, below both the selection memo that remembers lists of them and the monitoring that
reads them, so that neither imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.stats.estimators import CiMethod, Tau2Estimator
from service.stats.models import fit_random_effects
from service.usecases.pooled.selection import StudyEffect


@dataclass(frozen=True, slots=True)
class CumulativeAnalysis:
    """The evidence after one version, as a candidate look."""

    version: int
    k: int
    participants: int
    estimate: float | None
    se: float | None

    @property
    def z(self) -> float:
        return self.estimate / self.se if self.estimate is not None and self.se else float("nan")


def analysis_at(version: int, effects: Sequence[StudyEffect]) -> CumulativeAnalysis:
    """The cumulative analysis of ``effects``, the evidence after ``version``."""
    participants = sum(e.participants for e in effects)
    if not effects:
        return CumulativeAnalysis(version, 0, 0, None, None)
    fit = fit_random_effects(
        [e.yi for e in effects], [e.vi for e in effects],
        estimator=Tau2Estimator.DL, ci_method=CiMethod.Z,
    )  # fmt: skip
    return CumulativeAnalysis(version, len(effects), participants, fit.estimate, fit.se)
