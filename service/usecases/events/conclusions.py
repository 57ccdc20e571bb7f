"""When a change of pooled numbers is a change of conclusion, and why.

A reason detector looks at one cell's default-specification headline before and after a
write and names its reason, or ``None``. :data:`REASON_DETECTORS` is the list a
``conclusion.changed`` event is built from, in order; a later issue adds certainty or
sequential-monitoring reasons by appending a detector, nothing else.

Bands of |g| follow Cohen's (1988) conventions for standardized mean differences, as the
review reads them: trivial < 0.2 <= small < 0.5 <= moderate < 0.8 <= large.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Headline = Mapping[str, Any]
BANDS = ((0.8, "large"), (0.5, "moderate"), (0.2, "small"), (0.0, "trivial"))


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a conclusion changed: its code and what it was and became."""

    code: str
    before: str | None
    after: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "before": self.before, "after": self.after}


Detector = Callable[[Headline, Headline], Reason | None]


def _changed(code: str, before: str | None, after: str | None) -> Reason | None:
    return None if before == after else Reason(code, before, after)


def _pooled(headline: Headline) -> bool:
    return headline.get("status") == "pooled" and headline.get("estimate") is not None


def significance_of(headline: Headline) -> str | None:
    """``significant`` when the CI excludes 0, ``not_significant`` when it holds it."""
    low, high = headline.get("ci_lower"), headline.get("ci_upper")
    if not _pooled(headline) or low is None or high is None:
        return None
    return "significant" if low > 0 or high < 0 else "not_significant"


def magnitude_of(headline: Headline) -> str | None:
    """The band of |estimate| (None when nothing is pooled)."""
    if not _pooled(headline):
        return None
    size = abs(float(headline["estimate"]))
    return next(name for bound, name in BANDS if size >= bound)


def direction_of(headline: Headline) -> str | None:
    """Which side the estimate favours (positive favours peer support)."""
    if not _pooled(headline):
        return None
    estimate = float(headline["estimate"])
    if estimate == 0:
        return "none"
    return "favours_peer_support" if estimate > 0 else "favours_comparator"


def status_reason(before: Headline, after: Headline) -> Reason | None:
    """Pooled <-> insufficient evidence."""
    return _changed("status", before.get("status"), after.get("status"))


def significance_reason(before: Headline, after: Headline) -> Reason | None:
    """The CI starts or stops excluding 0 (both sides pooled)."""
    if not (_pooled(before) and _pooled(after)):
        return None
    return _changed("significance", significance_of(before), significance_of(after))


def magnitude_reason(before: Headline, after: Headline) -> Reason | None:
    """The estimate moves to another band (both sides pooled)."""
    if not (_pooled(before) and _pooled(after)):
        return None
    return _changed("magnitude", magnitude_of(before), magnitude_of(after))


def direction_reason(before: Headline, after: Headline) -> Reason | None:
    """The estimate changes sign (both sides pooled)."""
    if not (_pooled(before) and _pooled(after)):
        return None
    return _changed("direction", direction_of(before), direction_of(after))


REASON_DETECTORS: list[Detector] = [
    status_reason,
    significance_reason,
    magnitude_reason,
    direction_reason,
]


def conclusion_reasons(
    before: Headline, after: Headline, detectors: Sequence[Detector] = REASON_DETECTORS
) -> list[Reason]:
    """Every reason the detectors find, in their order (empty: the conclusion stands)."""
    found = (detect(before, after) for detect in detectors)
    return [reason for reason in found if reason is not None]
