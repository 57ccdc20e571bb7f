"""The forms in which a trial reports one outcome, stored exactly as sent.

Direction convention for every form: the *intervention* arm is arm 1 and the *control* arm is
arm 2, and a signed statistic (mean difference, change-score difference, t, an effect size with
``positive_favours_intervention: false``) is intervention minus control in the instrument's own
units. The service then flips the sign for instruments where lower scores mean benefit (ISMI,
SSMIS), so that a derived effect is positive whenever it favours the intervention. F statistics
and p values carry no sign: they state which arm the result ``favours`` instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from service.schemas.common import RequestModel

Finite = Annotated[float, Field(allow_inf_nan=False)]
PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
ArmN = Annotated[int, Field(ge=2, le=1_000_000, description="Participants analysed in the arm.")]
Favours = Literal["intervention", "control"]


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


class PValueData(ReportedModel):
    """A two-sided p value of the two-arm comparison, with the arm it favours."""

    form: Literal["p"]
    p: float = Field(gt=0, le=1, allow_inf_nan=False)
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


ReportedData = Annotated[
    MeansData
    | ChangeScoreData
    | TStatisticData
    | FStatisticData
    | PValueData
    | EffectSeData
    | EffectCiData,
    Field(discriminator="form"),
]
ARM_LEVEL_FORMS = frozenset({"means", "change_scores"})
EFFECT_FORMS = frozenset({"effect_se", "effect_ci"})


def reported_ns(data: ReportedData) -> tuple[int, int] | None:
    """The (intervention, control) ns a form carries, or ``None`` for effect-size forms."""
    if isinstance(data, MeansData | ChangeScoreData):
        return data.intervention.n, data.control.n
    if isinstance(data, EffectSeData | EffectCiData):
        return None
    return data.n_intervention, data.n_control


def n_field_paths(data: ReportedData) -> tuple[str, str]:
    """Where the intervention and control ns sit in ``data`` (as validation errors name them)."""
    if data.form in ARM_LEVEL_FORMS:
        return f"{data.form}.intervention.n", f"{data.form}.control.n"
    return f"{data.form}.n_intervention", f"{data.form}.n_control"
