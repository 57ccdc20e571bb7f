"""The ``dependence`` answer of a pooled result: every effect, nested in its study (issue 29).

``select_effects`` gives one effect per study (averaged at r = 0.5, or the first); it keeps each
study's results as ``parts``. With ``dependence=three_level`` the parts are fitted as effects
nested in studies (:mod:`service.stats.multilevel`); with ``che`` as the correlated and
hierarchical effects model with ``rho`` = 0.6 and CR2 inference (:mod:`service.stats.robust`).
With ``multi_arm=shared_control`` the parts' sampling errors also correlate where they share a
group (arms against one control), as metafor's ``vcalc(..., obs = instrument, grp1 = arm,
grp2 = control, w1 = n1, w2 = n2)`` (:mod:`service.stats.shared_groups`; the randomized ns).
The headline result stays the study-level fit, so that the seed rule (>= ``min_k`` randomized
trials) and every section keep counting studies; the answer says how many effects from how many
studies.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.schemas.dependence import DependenceRead
from service.stats.errors import StatsInputError
from service.stats.multilevel import fit_three_level
from service.stats.robust import DEFAULT_RHO, fit_che
from service.stats.shared_groups import SharedGroups
from service.usecases.analyses.dependence import dependence_read
from service.usecases.pooled.selection import StudyEffect
from service.usecases.pooled.spec import Dependence, MultiArm, PooledSpec


def dependence_answer(effects: Sequence[StudyEffect], spec: PooledSpec) -> DependenceRead | None:
    """The three-level or CHE model of the studies' parts; ``None`` for ``average`` or < 2 parts."""
    if spec.dependence is Dependence.AVERAGE:
        return None
    yi = [y for e in effects for y, _ in e.parts]
    vi = [v for e in effects for _, v in e.parts]
    cluster = [str(e.study_id) for e in effects for _ in e.parts]
    groups = _shared_groups(effects) if spec.multi_arm is MultiArm.SHARED_CONTROL else None
    try:
        if spec.dependence is Dependence.CHE:
            che = fit_che(yi, vi, cluster, rho=DEFAULT_RHO, level=spec.level, groups=groups)
            return dependence_read("che", che.model, che.robust)
        fit = fit_three_level(yi, vi, cluster, level=spec.level, groups=groups)
        return dependence_read("three_level", fit, None)
    except StatsInputError:
        return None  # fewer than two effects, or one study for CHE: nothing to model


def _shared_groups(effects: Sequence[StudyEffect]) -> SharedGroups:
    """The parts' groups (selection's ``part_groups``), for vcalc's shared-group correlation."""
    rows = [g for e in effects for g in e.part_groups]
    return SharedGroups(
        obs=[f"{g[0]}" for g in rows],
        grp1=[g[1] for g in rows],
        grp2=[g[2] for g in rows],
        w1=[float(g[3]) for g in rows],
        w2=[float(g[4]) for g in rows],
    )
