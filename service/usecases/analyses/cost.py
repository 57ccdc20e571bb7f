"""The cost of an analysis, known before any work starts, and the ceiling it must stay under.

The unit is one study in one model fit ("study-fit"): a fit to k studies costs k, and on the
2-core development machine one study-fit of REML with Knapp-Hartung takes about 1-2 us (0.3 us
for DerSimonian-Laird), measured with ``sensitivity.leave_one_out`` at k = 500 and 1,000.

- the model itself: k;
- a section that works on all studies at once costs k times its weight below (Egger's test
  fits two models, trim-and-fill refits once per trimming round, about 30 at most in practice);
- ``leave_one_out``, ``influence`` and ``cumulative`` refit the model once per study: k^2 each,
  except with a non-iterative estimator (EE, DL, HE, HS, HSk, SJ). Then the deletions of
  ``leave_one_out`` and ``influence`` come from downdated sums in O(k):
  :data:`DOWNDATED_WEIGHT` k each; and ``cumulative`` sums its looks directly in numpy blocks,
  O(k^2) terms at a few ns each: k^2 / :data:`BLOCK_DIVISOR`, at least 20 k. Either way no
  more than k^2. These weights are measured, not bounds: at k = 20,000, DL with
  leave_one_out answers in 0.3-0.5 s more than without (about what 400,000 study-fits of the
  other sections take), and cumulative's looks take 2.1 s. Rows whose downdate would lose
  precision are refitted exactly, which data where one study holds nearly all the weight can
  make O(k^2) refits again: the deadline bounds those.

The ceilings are settings (``MAX_ANALYSIS_COST_ANONYMOUS``, ``MAX_ANALYSIS_COST_WITH_KEY``),
lower for anonymous requests than for requests with an API key; a request over its ceiling is
refused with a 422 naming the limit and how to stay under it. Whatever fits the ceiling also
runs under a hard deadline (``ANALYSIS_DEADLINE_SECONDS``), checked before every refit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from service.errors import ComputationDeadlineError, CostLimitError
from service.stats.errors import DeadlineExceededError, StatsInputError
from service.stats.estimators import Tau2Estimator
from service.stats.sensitivity import DOWNDATED_ESTIMATORS

PER_STUDY_REFITS = frozenset({"leave_one_out", "influence", "cumulative"})
DOWNDATED_SECTIONS = frozenset({"leave_one_out", "influence"})
DOWNDATED_WEIGHT = 20
BLOCK_DIVISOR = 100
LINEAR_WEIGHTS = {
    "egger": 2,
    "begg": 1,
    "trim_and_fill": 30,
    "failsafe": 1,
    "subgroups": 2,
    "meta_regression": 2,
}


@dataclass(frozen=True, slots=True)
class ComputeBudget:
    """What one request may spend: ``limit`` study-fits, and ``seconds`` of computation.

    ``setting`` names the environment variable of ``limit``; ``with_key`` is whether the
    request came with an API key (whose ceiling is higher), for the advice in a refusal.
    """

    limit: int
    seconds: float
    setting: str
    with_key: bool
    key_limit: int

    def deadline(self) -> float:
        """The ``time.monotonic()`` instant past which the computation stops."""
        return time.monotonic() + self.seconds


UNLIMITED = ComputeBudget(
    limit=2**62, seconds=float("inf"), setting="", with_key=True, key_limit=2**62
)
"""No ceiling and no deadline (the command line and internal callers)."""


def downdates(estimator: Tau2Estimator | str | None) -> bool:
    """Whether ``estimator`` gets its deletions by downdating (unknown names: no, the dearer)."""
    if estimator is None:
        return False
    try:
        return Tau2Estimator.parse(str(estimator)) in DOWNDATED_ESTIMATORS
    except StatsInputError:
        return False


def _refitted(names: set[str], estimator: Tau2Estimator | str | None) -> set[str]:
    """The per-study sections that refit the model once per study with ``estimator``."""
    refitted = names & PER_STUDY_REFITS
    return set() if downdates(estimator) else refitted


def _per_study_cost(k: int, name: str, estimator: Tau2Estimator | str | None) -> int:
    """What one of :data:`PER_STUDY_REFITS` costs at ``k`` studies (see the module)."""
    if not downdates(estimator):
        return k * k
    if name in DOWNDATED_SECTIONS:
        return min(DOWNDATED_WEIGHT * k, k * k)
    return min(max(DOWNDATED_WEIGHT * k, k * k // BLOCK_DIVISOR), k * k)


def analysis_cost(
    k: int, sections: Iterable[str], estimator: Tau2Estimator | str | None = None
) -> int:
    """The study-fits an analysis of ``k`` studies with ``sections`` needs (see the module).

    ``estimator``: the tau2 estimator; ``None`` (not known) prices it as an iterative one.
    """
    names = set(sections)
    linear = 1 + sum(LINEAR_WEIGHTS.get(name, 0) for name in names)
    per_study = sum(_per_study_cost(k, name, estimator) for name in names & PER_STUDY_REFITS)
    return k * linear + per_study


def _advice(names: set[str], estimator: Tau2Estimator | str | None, budget: ComputeBudget) -> str:
    costly = sorted(_refitted(names, estimator))
    hints = []
    if costly:
        hints.append(f"leave out {', '.join(costly)} (each refits the model once per study)")
        hints.append(
            "or use a non-iterative estimator (DL, HE, HS, HSk, SJ or EE), with which "
            f"leave_one_out and influence cost {DOWNDATED_WEIGHT} k and cumulative "
            f"k^2 / {BLOCK_DIVISOR}"
        )
    elif names & PER_STUDY_REFITS:
        hints.append(f"leave out {', '.join(sorted(names & PER_STUDY_REFITS))}")
    hints.append("send fewer studies")
    if not budget.with_key:
        hints.append(f"send an API key (limit {budget.key_limit:,})")
    return "; ".join(hints)


def check_cost(
    k: int,
    sections: Iterable[str],
    budget: ComputeBudget,
    estimator: Tau2Estimator | str | None = None,
) -> None:
    """Refuse, before any work, an analysis that would cost more than ``budget`` allows."""
    names = set(sections)
    cost = analysis_cost(k, names, estimator)
    if cost <= budget.limit:
        return
    who = "requests with an API key" if budget.with_key else "anonymous requests"
    raise CostLimitError(
        f"This analysis would cost {cost:,} study-fits (k = {k:,} studies, sections: "
        f"{', '.join(sorted(names)) or 'none'}); the limit for {who} is {budget.limit:,} "
        f"({budget.setting}). To stay under it: {_advice(names, estimator, budget)}.",
        cost=cost,
        limit=budget.limit,
        setting=budget.setting,
    )


def check_history_cost(points: int, rows: int, budget: ComputeBudget) -> None:
    """Refuse a history of ``points`` headlines, each selected from ``rows`` evidence rows and
    fitted, that would cost more than ``budget`` allows (cost: points x rows)."""
    cost = points * rows
    if cost <= budget.limit:
        return
    who = "requests with an API key" if budget.with_key else "anonymous requests"
    advice = "pass as_of to end the history earlier, or narrow it with category or min_quality"
    if not budget.with_key:
        advice += f", or send an API key (limit {budget.key_limit:,})"
    raise CostLimitError(
        f"This history would cost {cost:,} study-fits ({points:,} points x {rows:,} evidence "
        f"rows); the limit for {who} is {budget.limit:,} ({budget.setting}). To stay under it: "
        f"{advice}.",
        cost=cost,
        limit=budget.limit,
        setting=budget.setting,
    )


@contextmanager
def stopped_at_deadline(budget: ComputeBudget) -> Iterator[None]:
    """Turn the engine's :class:`DeadlineExceededError` into a 503 that says what to do."""
    try:
        yield
    except DeadlineExceededError as exc:
        raise ComputationDeadlineError(
            f"The analysis ran past its {budget.seconds:g} s deadline and was stopped; "
            "ask for fewer sections that refit once per study, or fewer studies."
        ) from exc
