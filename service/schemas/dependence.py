"""Dependent effects (three-level, CHE) and Bayesian random effects in ``POST /v1/analyses``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from service.schemas.common import ReadModel, RequestModel

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Interval = tuple[float | None, float | None]
DependenceName = Literal["average", "three_level", "che"]


class EffectPriorInput(RequestModel):
    """The prior of the overall effect: ``flat`` or ``normal`` (mean, sd)."""

    kind: Literal["flat", "normal"] = "flat"
    mean: FiniteFloat = 0.0
    sd: FiniteFloat = Field(default=1.0, gt=0)


TauPriorKindName = Literal[
    "half_normal",
    "half_cauchy",
    "cochrane_smd",
    "rhodes_mental_health",
    "inverse_gamma",
    "log_t",
    "fixed",
]
# The parameters each kind reads: required ones, then those with a documented default.
_TAU_PARAMETERS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "half_normal": ((), {"scale": 0.5}),
    "half_cauchy": ((), {"scale": 0.5}),
    "cochrane_smd": ((), {}),
    "rhodes_mental_health": ((), {}),
    "inverse_gamma": (("shape", "scale"), {}),
    "log_t": (("location", "scale"), {"df": 5.0}),
    "fixed": (("scale",), {}),
}


_TAU_NAMES = ("scale", "shape", "location", "df")


def _parameters_schema(kind: str) -> dict[str, Any]:
    """What ``kind`` reads, in JSON Schema: its required parameters given (a number, not
    null), the ones it does not read absent or null."""
    required, defaults = _TAU_PARAMETERS[kind]
    unread = [name for name in _TAU_NAMES if name not in required and name not in defaults]
    properties = {name: {"type": "number"} for name in required}
    properties |= {name: {"type": "null"} for name in unread}
    return (
        {"required": list(required), "properties": properties}
        if required
        else {"properties": properties}
    )


def _by_kind(kinds: list[str]) -> dict[str, Any]:
    """An if/then/else chain, one link per kind; the last, for ``kind`` omitted, is the
    default's (a model-level oneOf or allOf would upset openapi-python-client, which leaves
    if/then/else alone: see AnalysisRequest)."""
    if not kinds:
        return _parameters_schema("half_normal")
    kind, rest = kinds[0], kinds[1:]
    return {
        "if": {"required": ["kind"], "properties": {"kind": {"const": kind}}},
        "then": _parameters_schema(kind),
        "else": _by_kind(rest),
    }


class TauPriorInput(RequestModel):
    """The prior of tau, by name or by its parameters.

    Named (no parameters): ``cochrane_smd`` is tau ~ InvGamma(shape 1.51, scale 0.23) (Bartos et
    al. 2021), ``rhodes_mental_health`` log tau2 ~ t5(-3.85, 1.93) (Rhodes et al. 2015), exactly
    the pooled endpoint's ``tau_prior`` of the same names. By parameters: ``half_normal`` and
    ``half_cauchy`` take ``scale`` (default 0.5); ``inverse_gamma`` needs ``shape`` and ``scale``;
    ``log_t`` (on log tau2) needs ``location`` and ``scale`` (``df`` default 5); ``fixed`` sets
    tau = ``scale`` (the conjugate model). A parameter the kind does not read is refused, so that
    no request silently fits a prior other than the one it spelled out.
    """

    # The parameters of each kind, stated in the schema too (issue 25).
    model_config = ConfigDict(json_schema_extra=_by_kind(list(_TAU_PARAMETERS)))

    kind: TauPriorKindName = "half_normal"
    scale: FiniteFloat | None = Field(default=None, ge=0)
    shape: FiniteFloat | None = Field(default=None, gt=0)
    location: FiniteFloat | None = None
    df: FiniteFloat | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _parameters_of_the_kind(self) -> TauPriorInput:
        required, defaults = _TAU_PARAMETERS[self.kind]
        given = {
            name for name in ("scale", "shape", "location", "df") if getattr(self, name) is not None
        }
        missing = [name for name in required if name not in given]
        if missing:
            raise ValueError(f"a {self.kind} tau prior needs {' and '.join(missing)}")
        unread = sorted(given - set(required) - set(defaults))
        if unread:
            raise ValueError(f"a {self.kind} tau prior takes no {', '.join(unread)}")
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        return self


class BayesInput(RequestModel):
    """A Bayesian random-effects model of the (study-level) effects, with P(effect > MID)."""

    effect_prior: EffectPriorInput = Field(default_factory=EffectPriorInput)
    tau_prior: TauPriorInput = Field(default_factory=TauPriorInput)
    mid: FiniteFloat | None = Field(
        default=0.2, ge=0, description="Minimal important difference; null: no p_benefit_gt_mid."
    )
    lower_is_better: bool = Field(
        default=False, description="True when a benefit is a reduction (then P(effect < -MID))."
    )


class RobustRead(ReadModel):
    """CR2 cluster-robust test with Satterthwaite df (clubSandwich coef_test)."""

    se: float
    df: float
    statistic: float
    p_value: float
    ci_lower: float
    ci_upper: float


class DependenceRead(ReadModel):
    """The three-level (or CHE) model of all effects, effects nested in studies (rma.mv)."""

    dependence: DependenceName
    k_effects: int
    k_studies: int
    method: str
    rho: float | None = Field(description="Assumed within-study sampling correlation (CHE).")
    estimate: float
    se: float
    p_value: float
    ci_lower: float
    ci_upper: float
    pi_lower: float
    pi_upper: float
    sigma2_between: float
    sigma2_within: float
    sigma2_between_ci: Interval
    sigma2_within_ci: Interval
    i2_between: float = Field(description="Percent.")
    i2_within: float = Field(description="Percent.")
    q: float
    q_df: int
    q_p_value: float
    lrt_within: float = Field(description="LRT against the model without within-study variance.")
    lrt_within_p: float
    lrt_between: float = Field(description="LRT against the model without between-study variance.")
    lrt_between_p: float
    robust: RobustRead | None = Field(description="CR2 inference (CHE only).")


class SummaryRead(ReadModel):
    mean: float
    median: float
    ci_lower: float
    ci_upper: float


class BayesRead(ReadModel):
    """The exact posterior (quadrature over tau, as bayesmeta)."""

    k: int
    mu: SummaryRead
    mu_sd: float
    tau: SummaryRead
    predictive: SummaryRead
    mid: float | None
    lower_is_better: bool
    p_benefit: float = Field(description="P(effect > 0) in the direction of benefit.")
    p_benefit_gt_mid: float | None = Field(
        description="P(effect > MID) in the direction of benefit."
    )
