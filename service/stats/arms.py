"""Two arms of a multi-arm trial combined into one group (Cochrane Handbook, Table 6.5.a).

A trial with two intervention arms and one shared control may not enter a meta-analysis as two
comparisons with the control counted twice (a unit-of-analysis error, Handbook section 23.3.4).
The Handbook's recommended fix combines the intervention arms into one group, whose sample
size, mean and SD are (Higgins, Li and Deeks, Cochrane Handbook version 6.4, section 6.5.2.10,
Table 6.5.a)::

    N    = N1 + N2
    Mean = (N1 M1 + N2 M2) / (N1 + N2)
    SD   = sqrt(((N1 - 1) SD1^2 + (N2 - 1) SD2^2 + N1 N2 / (N1 + N2) (M1^2 + M2^2 - 2 M1 M2))
                / (N1 + N2 - 1))

The SD is that of the pooled sample of both arms: within-arm variation plus the spread of the
two means. More arms are combined by applying the formula repeatedly (the result does not
depend on the order). The combined group is then compared with the control as in a two-arm trial.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

from service.stats.errors import StatsInputError


@dataclass(frozen=True, slots=True)
class Group:
    """A trial arm as reported: size, mean and standard deviation."""

    n: int
    mean: float
    sd: float


def combine_two(a: Group, b: Group) -> Group:
    """Table 6.5.a for two groups; :class:`StatsInputError` for n < 1 or a negative SD."""
    for group in (a, b):
        if group.n < 1 or not (math.isfinite(group.mean) and math.isfinite(group.sd)):
            raise StatsInputError("each group needs n >= 1 and a finite mean and SD", field="n")
        if group.sd < 0.0:
            raise StatsInputError("a standard deviation cannot be negative", field="sd")
    n = a.n + b.n
    if n < 2:
        raise StatsInputError("two groups of one person have no pooled SD", field="n")
    mean = (a.n * a.mean + b.n * b.mean) / n
    spread = a.n * b.n / n * (a.mean**2 + b.mean**2 - 2.0 * a.mean * b.mean)
    variance = ((a.n - 1) * a.sd**2 + (b.n - 1) * b.sd**2 + spread) / (n - 1)
    return Group(n, mean, math.sqrt(variance))


def combine_groups(groups: list[Group]) -> Group:
    """Any number (>= 1) of groups combined by repeated :func:`combine_two`."""
    if not groups:
        raise StatsInputError("no groups to combine", field="groups")
    return reduce(combine_two, groups)
