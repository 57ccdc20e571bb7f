"""The forms in which a trial reports one outcome, stored exactly as sent.

Direction convention for every form: the *intervention* arm is arm 1 and the *control* arm is
arm 2, and a signed statistic (mean difference, change-score difference, t, an effect size with
``positive_favours_intervention: false``) is intervention minus control in the instrument's own
units. The service then flips the sign for instruments where lower scores mean benefit (ISMI,
SSMIS), so that a derived effect is positive whenever it favours the intervention. F statistics
and p values carry no sign: they state which arm the result ``favours`` instead.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from service.schemas.common import RequestModel

Finite = Annotated[float, Field(allow_inf_nan=False)]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
ArmN = Annotated[int, Field(ge=2, le=1_000_000, description="Participants analysed in the arm.")]
Favours = Literal["intervention", "control"]


# Which fields go together, in the JSON Schema too (issue 25; if/then/else, which
# openapi-python-client leaves alone). Null counts as not given, as in the validators.
_NUMBER, _NULL = {"type": "number"}, {"type": "null"}


def _given(*names: str) -> dict[str, Any]:
    return {"required": list(names), "properties": {name: dict(_NUMBER) for name in names}}


def _absent(*names: str) -> dict[str, Any]:
    return {"properties": {name: dict(_NULL) for name in names}}


SE_OR_INTERVAL: dict[str, Any] = {
    "if": _given("se"),
    "then": _absent("ci_lower", "ci_upper"),
    "else": _given("ci_lower", "ci_upper"),
}
"""Either ``se`` or both ends of the interval."""
QUARTILES_OR_RANGE: dict[str, Any] = {
    "if": _given("q1"),
    "then": {
        **_given("q3"),
        "if": _given("minimum"),
        "then": _given("maximum"),
        "else": _absent("maximum"),
    },
    "else": {
        "required": ["minimum", "maximum"],
        "properties": {"q3": _NULL, "minimum": _NUMBER, "maximum": _NUMBER},
    },
}
"""The quartiles, the range or both, each pair whole."""


class ReportedModel(RequestModel):
    """Base of the reported forms: unknown fields rejected, floats finite."""

    model_config = ConfigDict(allow_inf_nan=False)


class ArmMeans(ReportedModel):
    mean: Finite
    sd: PositiveFinite = Field(description="Standard deviation (not the standard error).")
    n: ArmN


class ArmChange(ReportedModel):
    mean_change: Finite = Field(description="Mean change from baseline (follow-up minus baseline).")
    sd_change: PositiveFinite
    n: ArmN


class MeansData(ReportedModel):
    """Post-intervention means, SDs and ns per arm."""

    form: Literal["means"]
    intervention: ArmMeans
    control: ArmMeans


class ChangeScoreData(ReportedModel):
    """Change-from-baseline means, SDs and ns per arm."""

    form: Literal["change_scores"]
    intervention: ArmChange
    control: ArmChange


class TStatisticData(ReportedModel):
    """An independent-samples t statistic, signed as intervention minus control."""

    form: Literal["t"]
    t: Finite
    n_intervention: ArmN
    n_control: ArmN


class FStatisticData(ReportedModel):
    """F(1, df) for the two-arm comparison, with the arm it favours."""

    form: Literal["f"]
    f: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    df: int = Field(ge=1, le=2_000_000, description="Denominator degrees of freedom.")
    favours: Favours
    n_intervention: ArmN
    n_control: ArmN

    @model_validator(mode="after")
    def _df_fits_the_ns(self) -> FStatisticData:
        if self.df > self.n_intervention + self.n_control - 2:
            raise ValueError("df cannot exceed n_intervention + n_control - 2")
        return self


P_BOUND_HINT = (
    'a p value given as a bound ("p < 0.001", or printed as p = 0.000) goes in form '
    "'p_bound' with p_below: 0.001; it is converted at the bound and flagged as understating"
)


class PValueData(ReportedModel):
    """A two-sided p value of the two-arm comparison, with the arm it favours."""

    form: Literal["p"]
    p: float = Field(gt=0, le=1, allow_inf_nan=False)

    @field_validator("p", mode="before")
    @classmethod
    def _not_a_bound(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().startswith(("<", "≤")):
            raise ValueError(P_BOUND_HINT)
        if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
            raise ValueError(f"p = 0 is not an exact p value: {P_BOUND_HINT}")
        return value

    favours: Favours
    n_intervention: ArmN
    n_control: ArmN


class EffectSeData(ReportedModel):
    """A standardized mean difference with its standard error."""

    form: Literal["effect_se"]
    effect: Finite
    se: PositiveFinite
    positive_favours_intervention: bool = Field(
        description="True when the reported effect is already oriented so that positive favours "
        "the intervention; false when it is intervention minus control in the instrument's "
        "direction (then it is flipped for lower-is-better instruments)."
    )


class EffectCiData(ReportedModel):
    """A standardized mean difference with its confidence interval."""

    form: Literal["effect_ci"]
    effect: Finite
    ci_lower: Finite
    ci_upper: Finite
    ci_level: float = Field(default=0.95, gt=0, lt=1, allow_inf_nan=False)
    positive_favours_intervention: bool = Field(
        description="As for `effect_se`: whether positive already favours the intervention."
    )

    @model_validator(mode="after")
    def _interval_contains_the_estimate(self) -> EffectCiData:
        if not self.ci_lower < self.ci_upper:
            raise ValueError("ci_lower must be below ci_upper")
        if not self.ci_lower <= self.effect <= self.ci_upper:
            raise ValueError("the confidence interval must contain the effect")
        return self


class ArmMeansSe(ReportedModel):
    mean: Finite
    se: PositiveFinite = Field(description="Standard error of the arm's mean.")
    n: ArmN


class MeansSeData(ReportedModel):
    """Means with their standard errors (SD = SE sqrt(n), Cochrane Handbook 6.5.2.2)."""

    form: Literal["means_se"]
    intervention: ArmMeansSe
    control: ArmMeansSe


class MeanDifferenceData(ReportedModel):
    """A raw mean difference (intervention minus control) with its SE or its CI, and the ns."""

    model_config = ConfigDict(json_schema_extra=SE_OR_INTERVAL)

    form: Literal["mean_difference"]
    mean_difference: Finite
    se: PositiveFinite | None = None
    ci_lower: Finite | None = None
    ci_upper: Finite | None = None
    ci_level: float = Field(default=0.95, gt=0, lt=1, allow_inf_nan=False)
    n_intervention: ArmN
    n_control: ArmN

    @model_validator(mode="after")
    def _se_or_interval(self) -> MeanDifferenceData:
        has_ci = (self.ci_lower, self.ci_upper) != (None, None)
        if (self.se is None) == (not has_ci):
            raise ValueError("give either se or both ci_lower and ci_upper")
        if has_ci:
            if self.ci_lower is None or self.ci_upper is None:
                raise ValueError("give both ci_lower and ci_upper")
            if not self.ci_lower <= self.mean_difference <= self.ci_upper < float("inf"):
                raise ValueError("the confidence interval must contain the mean difference")
            if not self.ci_lower < self.ci_upper:
                raise ValueError("ci_lower must be below ci_upper")
        return self


class AncovaData(ReportedModel):
    """A baseline-adjusted (ANCOVA) mean difference, intervention minus control, with its SE."""

    form: Literal["ancova"]
    adjusted_mean_difference: Finite
    se: PositiveFinite
    n_intervention: ArmN
    n_control: ArmN


class ArmMedians(ReportedModel):
    """An arm's median with its quartiles and/or its range (minimum and maximum)."""

    model_config = ConfigDict(json_schema_extra=QUARTILES_OR_RANGE)

    median: Finite
    q1: Finite | None = None
    q3: Finite | None = None
    minimum: Finite | None = None
    maximum: Finite | None = None
    n: ArmN

    @model_validator(mode="after")
    def _quantiles_in_order(self) -> ArmMedians:
        if (self.q1 is None) != (self.q3 is None):
            raise ValueError("give both quartiles (q1 and q3) or neither")
        if (self.minimum is None) != (self.maximum is None):
            raise ValueError("give both minimum and maximum or neither")
        if self.q1 is None and self.minimum is None:
            raise ValueError("give the quartiles (q1, q3), the range (minimum, maximum) or both")
        ordered = [
            v for v in (self.minimum, self.q1, self.median, self.q3, self.maximum) if v is not None
        ]
        if ordered != sorted(ordered) or ordered[0] == ordered[-1]:
            raise ValueError("need minimum <= q1 <= median <= q3 <= maximum, not all equal")
        return self


class MediansData(ReportedModel):
    """Medians with IQRs and/or ranges; mean and SD estimated as metafor's conv.fivenum."""

    form: Literal["medians"]
    intervention: ArmMedians
    control: ArmMedians


class PBoundData(ReportedModel):
    """A p value reported only as a bound, "p < 0.001": converted at the bound (understates)."""

    form: Literal["p_bound"]
    p_below: float = Field(
        gt=0, lt=1, allow_inf_nan=False, description='The bound: 0.001 for "p < 0.001".'
    )
    favours: Favours
    n_intervention: ArmN
    n_control: ArmN


class ArmEvents(ReportedModel):
    events: int = Field(
        ge=0, le=1_000_000, description="Participants above the cut-off (high scores)."
    )
    total: ArmN


class DichotomousData(ReportedModel):
    """A dichotomised scale: per arm, how many scored above a cut-off (logit method, OR2DL)."""

    form: Literal["dichotomous"]
    intervention: ArmEvents
    control: ArmEvents

    @model_validator(mode="after")
    def _events_within_totals(self) -> DichotomousData:
        for arm in (self.intervention, self.control):
            if arm.events > arm.total:
                raise ValueError("events cannot exceed total")
        return self


ReportedData = Annotated[
    MeansData
    | MeansSeData
    | ChangeScoreData
    | TStatisticData
    | FStatisticData
    | PValueData
    | PBoundData
    | EffectSeData
    | EffectCiData
    | MeanDifferenceData
    | AncovaData
    | MediansData
    | DichotomousData,
    Field(discriminator="form"),
]
ARM_LEVEL_FORMS = frozenset({"means", "means_se", "change_scores", "medians", "dichotomous"})
EFFECT_FORMS = frozenset({"effect_se", "effect_ci"})
_ARM_N = {"dichotomous": "total"}


def reported_ns(data: ReportedData) -> tuple[int, int] | None:
    """The (intervention, control) ns a form carries, or ``None`` for effect-size forms."""
    if isinstance(data, DichotomousData):
        return data.intervention.total, data.control.total
    if isinstance(data, MeansData | MeansSeData | ChangeScoreData | MediansData):
        return data.intervention.n, data.control.n
    if isinstance(data, EffectSeData | EffectCiData):
        return None
    return data.n_intervention, data.n_control


def n_field_paths(data: ReportedData) -> tuple[str, str]:
    """Where the intervention and control ns sit in ``data`` (as validation errors name them)."""
    if data.form in ARM_LEVEL_FORMS:
        n = _ARM_N.get(data.form, "n")
        return f"{data.form}.intervention.{n}", f"{data.form}.control.{n}"
    return f"{data.form}.n_intervention", f"{data.form}.n_control"
