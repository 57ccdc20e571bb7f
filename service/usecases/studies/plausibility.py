"""Plausibility of arm summaries against the instrument's scale range.

Every seeded instrument has a range (items x response range, from its publication; the
``scale_source`` of the vocabulary says which). Per arm, for the forms that report arm summaries:

- a mean, median, quartile or extreme outside the range is refused (422): the usual cause is a
  total score sent for a mean-item-score instrument, or the wrong instrument;
- an SD larger than a bounded scale allows is refused: for values in [min, max] with mean mu,
  the variance is at most (max - mu)(mu - min) (Bhatia and Davis 2000, Am Math Monthly
  107:353-7), times n / (n - 1) for the sample SD. Reported figures are rounded, so 5% of the
  bound plus 0.5% of the span is allowed on top;
- an SD below 0.1% of the span is refused: no rounded report of a multi-item scale gives it;
  it is a typo, a missing value or an exponent (1e-320);
- an SD that looks like a standard error is stored, with a data warning, and the study waits
  for a curator: below 5% of the span (SDs of these scales in trial samples are 10-25% of the
  span; an SE is the SD divided by sqrt(n), so already with n = 10 it falls below 5%), or one
  arm's SD at least 4 times smaller than the other's (a variance ratio of 16, which two arms
  of one randomized trial hardly ever show, while an SE beside an SD gives about sqrt(n));
- a mean change larger than the span is refused (no one can change by more than the scale
  allows).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from service.schemas.reported import ChangeScoreData, MeansData, MeansSeData, MediansData
from service.schemas.studies import OutcomeResultCreate

SD_AS_SE_FRACTION = 0.05  # of the span: below it an SD looks like an SE (warning)
SD_RATIO_WARNING = 4.0  # one arm's SD this many times smaller than the other's (warning)
SD_FLOOR_FRACTION = 1e-3  # of the span: below it an SD is refused as a typo
BOUND_SLACK, SPAN_SLACK = 1.05, 0.005  # rounding allowance on the Bhatia-Davis bound


@dataclass(frozen=True, slots=True)
class Scale:
    """An instrument's score range and where it comes from."""

    name: str
    minimum: float
    maximum: float
    source: str | None

    @property
    def span(self) -> float:
        return self.maximum - self.minimum

    def describe(self) -> str:
        source = f": {self.source.rstrip('.')}" if self.source else ""
        return f"{self.name} scores range from {self.minimum:g} to {self.maximum:g}{source}"


@dataclass(slots=True)
class Findings:
    """Refusals (422) as (field, message), and warnings (stored with the result) as dicts with
    ``code``, ``level``, ``field``, ``message``, ``value`` (as sent) and ``plausible`` (what a
    plausible value would be); see :func:`data_warning`."""

    errors: list[tuple[str, str]]
    warnings: list[dict[str, str]]


ERROR_LEVEL = "error"  # a curator must give a reason to include the study while it stands
WARNING_LEVEL = "warning"


def data_warning(
    code: str, level: str, field: str, message: str, *, value: float, plausible: str
) -> dict[str, str]:
    """One stored data warning (strings only: it is kept as JSON beside the result)."""
    return {
        "code": code, "level": level, "field": field, "message": message,
        "value": f"{value:g}", "plausible": plausible,
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Arm:
    role: str
    mean: float
    sd: float
    n: int
    sd_field: str  # "sd" or "se": what the client sent


def check_result(result: OutcomeResultCreate, scale: Scale | None, at: str) -> Findings:
    """The plausibility findings of ``result``; ``at`` prefixes field names (``...data.means``)."""
    findings = Findings([], [])
    data = result.data
    if isinstance(data, MeansData | MeansSeData):
        arms = list(_mean_arms(data))
        for arm in arms:
            _check_mean_arm(arm, scale, findings, f"{at}.{arm.role}")
        if isinstance(data, MeansData):
            _check_sd_ratio(arms, findings, at)
    elif isinstance(data, MediansData) and scale is not None:
        _check_medians(data, scale, findings, at)
    elif isinstance(data, ChangeScoreData) and scale is not None:
        _check_changes(data, scale, findings, at)
    return findings


def _mean_arms(data: MeansData | MeansSeData) -> Iterator[_Arm]:
    if isinstance(data, MeansData):
        for role, arm in (("intervention", data.intervention), ("control", data.control)):
            yield _Arm(role, arm.mean, arm.sd, arm.n, "sd")
        return
    for role, se_arm in (("intervention", data.intervention), ("control", data.control)):
        yield _Arm(role, se_arm.mean, se_arm.se * math.sqrt(se_arm.n), se_arm.n, "se")


def _check_mean_arm(arm: _Arm, scale: Scale | None, findings: Findings, at: str) -> None:
    if scale is None:
        return
    if not scale.minimum <= arm.mean <= scale.maximum:
        findings.errors.append(
            (
                f"{at}.mean",
                f"mean {arm.mean:g} is outside the scale: {scale.describe()}. Check for a total "
                "score sent as a mean item score (or the reverse), or the wrong instrument",
            )
        )
        return
    _check_sd_size(arm, scale, findings, at)


def _check_sd_size(arm: _Arm, scale: Scale, findings: Findings, at: str) -> None:
    field = f"{at}.{arm.sd_field}"
    room = (scale.maximum - arm.mean) * (arm.mean - scale.minimum) * arm.n / (arm.n - 1)
    bound = math.sqrt(max(room, 0.0))
    if arm.sd > BOUND_SLACK * bound + SPAN_SLACK * scale.span:
        what = (
            "sd" if arm.sd_field == "sd" else f"the SD implied by se (se x sqrt(n) = {arm.sd:.3g})"
        )
        findings.errors.append(
            (
                field,
                f"{what} exceeds the largest SD a mean of {arm.mean:g} allows on this scale, "
                f"{bound:.3g} (Bhatia-Davis bound; {scale.describe()}). Check for a variance "
                "sent as an SD, an SD sent as an SE, or the wrong instrument",
            )
        )
    elif arm.sd < SD_FLOOR_FRACTION * scale.span:
        findings.errors.append(
            (
                field,
                f"{arm.sd_field} {arm.sd:.3g} is effectively zero on a scale spanning "
                f"{scale.span:g}: check for a typo, a missing value or an exponent",
            )
        )
    elif arm.sd_field == "sd" and arm.sd < SD_AS_SE_FRACTION * scale.span:
        low, high = 0.10 * scale.span, 0.25 * scale.span
        findings.warnings.append(
            data_warning(
                "sd-looks-like-se",
                ERROR_LEVEL,
                field,
                f"sd {arm.sd:g} is {100 * arm.sd / scale.span:.1f}% of the scale's span "
                f"({scale.describe()}); SDs in trial samples are typically 10-25% of it. It "
                f"looks like a standard error: if so, the SD is {arm.sd * math.sqrt(arm.n):.3g} "
                "(se x sqrt(n)); resend with form 'means_se'",
                value=arm.sd,
                plausible=f"{low:.3g} to {high:.3g}; as an SE, the SD is "
                f"{arm.sd * math.sqrt(arm.n):.3g}",
            )
        )


def _check_sd_ratio(arms: list[_Arm], findings: Findings, at: str) -> None:
    small, large = sorted(arms, key=lambda arm: arm.sd)
    if small.sd * SD_RATIO_WARNING <= large.sd:
        findings.warnings.append(
            data_warning(
                "sd-ratio",
                WARNING_LEVEL,
                f"{at}.{small.role}.sd",
                f"sd {small.sd:g} is {large.sd / small.sd:.1f} times smaller than the {large.role} "
                f"arm's {large.sd:g}: it may be a standard error (the SD would be "
                f"{small.sd * math.sqrt(small.n):.3g}, se x sqrt(n))",
                value=small.sd,
                plausible=f"within {SD_RATIO_WARNING:g} times of {large.sd:g}, e.g. "
                f"{small.sd * math.sqrt(small.n):.3g} if it is an SE",
            )
        )


def _check_medians(data: MediansData, scale: Scale, findings: Findings, at: str) -> None:
    for role, arm in (("intervention", data.intervention), ("control", data.control)):
        for name in ("minimum", "q1", "median", "q3", "maximum"):
            value = getattr(arm, name)
            if value is not None and not scale.minimum <= value <= scale.maximum:
                findings.errors.append(
                    (
                        f"{at}.{role}.{name}",
                        f"{name} {value:g} is outside the scale: {scale.describe()}",
                    )
                )


def _check_changes(data: ChangeScoreData, scale: Scale, findings: Findings, at: str) -> None:
    for role, arm in (("intervention", data.intervention), ("control", data.control)):
        if abs(arm.mean_change) > scale.span:
            findings.errors.append(
                (
                    f"{at}.{role}.mean_change",
                    f"a mean change of {arm.mean_change:g} is larger than the scale's span "
                    f"{scale.span:g} ({scale.describe()}): check the units and the instrument",
                )
            )
