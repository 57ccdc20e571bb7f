"""``POST /v1/analyses``: a stateless meta-analysis of the effects in the request.

The response field names are a contract that other apps read; do not rename them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from service.schemas.common import FreeText, ReadModel, RequestModel
from service.schemas.dependence import BayesInput, BayesRead, DependenceName, DependenceRead

Label = Annotated[FreeText, Field(min_length=1, max_length=200)]
GroupName = Annotated[FreeText, Field(min_length=1, max_length=100)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Interval = tuple[float | None, float | None]
MAX_STUDIES = 100_000

EstimatorName = Literal["EE", "FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM"]
CiMethodName = Literal["z", "hksj", "t"]
VarianceTypeName = Literal["LS", "UB", "LS2", "AV"]
SectionName = Literal[
    "egger", "begg", "trim_and_fill", "failsafe", "leave_one_out", "influence",
    "cumulative", "subgroups", "meta_regression",
]  # fmt: skip


_GIVEN = {"type": "array"}  # null or absent is not given
EXACTLY_ONE_SOURCE: dict[str, Any] = {
    "if": {"required": ["effects"], "properties": {"effects": _GIVEN}},
    "then": {"properties": {"comparisons": {"type": "null"}}},
    "else": {"required": ["comparisons"], "properties": {"comparisons": _GIVEN}},
}


class EffectInput(RequestModel):
    """A precomputed effect size and its sampling variance."""

    label: Label
    yi: FiniteFloat
    vi: FiniteFloat = Field(gt=0, description="Sampling variance; must be positive.")
    group: GroupName | None = None
    moderator: FiniteFloat | None = None
    study: Label | None = Field(default=None, description="Cluster id: effects of one study.")


class ComparisonInput(RequestModel):
    """Two arms' summaries (1 = intervention, 2 = control); the SMD is computed from them."""

    label: Label
    n1: int = Field(ge=2, le=10_000_000)
    mean1: FiniteFloat
    sd1: FiniteFloat = Field(gt=0)
    n2: int = Field(ge=2, le=10_000_000)
    mean2: FiniteFloat
    sd2: FiniteFloat = Field(gt=0)
    group: GroupName | None = None
    moderator: FiniteFloat | None = None
    study: Label | None = Field(default=None, description="Cluster id: effects of one study.")


class AnalysisRequest(RequestModel):
    """Either ``effects`` or ``comparisons``, and how to analyse them."""

    # "Exactly one of effects and comparisons" (null as good as absent), as if/then/else:
    # stated as a model-level oneOf (one branch per list, each "required"),
    # openapi-python-client 0.2x dropped the analyse operation from the generated client
    # without a word; it leaves if/then/else alone, as it does any keyword it does not type
    # (issue 25).
    model_config = ConfigDict(json_schema_extra=EXACTLY_ONE_SOURCE)

    effects: list[EffectInput] | None = Field(default=None, min_length=1, max_length=MAX_STUDIES)
    comparisons: list[ComparisonInput] | None = Field(
        default=None, min_length=1, max_length=MAX_STUDIES
    )
    variance_type: VarianceTypeName = "LS"
    estimator: EstimatorName = "REML"
    ci_method: CiMethodName = "hksj"
    level: float = Field(default=0.95, gt=0.5, lt=1.0)
    sections: list[SectionName] = Field(
        default_factory=list, max_length=9, json_schema_extra={"uniqueItems": True}
    )
    dependence: DependenceName = Field(
        default="average",
        description="Effects sharing a study: averaged (r = 0.5) before the main fit, or also "
        "fitted as a three-level model or CHE model with CR2 (the 'dependence' answer).",
    )
    rho: float = Field(default=0.6, gt=-1, lt=1, description="Within-study correlation (CHE).")
    bayes: BayesInput | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> AnalysisRequest:
        if (self.effects is None) == (self.comparisons is None):
            raise ValueError("give exactly one of 'effects' and 'comparisons'")
        if len(set(self.sections)) != len(self.sections):
            raise ValueError("sections must not repeat")
        return self

    @field_validator("effects", "comparisons")
    @classmethod
    def _unique_labels(
        cls, rows: list[EffectInput] | list[ComparisonInput] | None
    ) -> list[EffectInput] | list[ComparisonInput] | None:
        # A field's rule, so that a refusal names the list (JSON Schema cannot state it:
        # uniqueItems compares whole items, not one property).
        labels = [row.label for row in rows or []]
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be unique")
        return rows


class EffectRead(ReadModel):
    label: str
    yi: float
    vi: float
    weight: float | None = Field(description="Percent of the total weight.")


class EggerRead(ReadModel):
    statistic: float | None
    p_value: float | None
    limit_estimate: float | None


class EggerClassicRead(EggerRead):
    df: int | None


class BeggRead(ReadModel):
    kendall_tau: float | None
    p_value: float | None


class TrimAndFillRead(ReadModel):
    k0: int
    side: str
    estimate: float | None
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    tau2: float | None


class LeaveOneOutRead(ReadModel):
    label: str
    estimate: float | None
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    tau2: float | None
    i2: float | None
    q: float | None


class InfluenceRead(ReadModel):
    label: str
    rstudent: float | None
    cook_d: float | None
    hat: float | None
    dffits: float | None
    cov_r: float | None
    tau2_deleted: float | None
    weight: float | None


class CumulativeRead(ReadModel):
    label: str
    estimate: float | None
    se: float | None
    ci_lower: float | None
    ci_upper: float | None
    tau2: float | None
    i2: float | None


class SubgroupLevelRead(ReadModel):
    k: int
    estimate: float | None
    se: float | None
    ci_lower: float | None = Field(description="The level's own interval (its separate fit).")
    ci_upper: float | None
    tau2: float | None
    i2: float | None
    status: Literal["pooled", "insufficient_evidence"] | None = Field(
        default=None,
        description="In pooled results only (null in POST /v1/analyses): insufficient_evidence "
        "when the level has fewer than min_k randomized studies, as its cell in GET /v1/pooled.",
    )


class SubgroupDifferenceRead(ReadModel):
    q: float | None
    df: int
    p_value: float | None


class ModeratorModelRead(ReadModel):
    qm: float | None
    df: int
    p_value: float | None
    tau2: float | None
    r2: float | None


class SubgroupsRead(ReadModel):
    levels: dict[str, SubgroupLevelRead]
    difference: SubgroupDifferenceRead
    moderator_model: ModeratorModelRead


class KnappHartungRead(ReadModel):
    coefficients: list[float | None]
    se: list[float | None]
    f: float | None
    p_value: float | None


class MetaRegressionRead(ReadModel):
    coefficients: list[float | None] = Field(description="Intercept, then slope.")
    se: list[float | None]
    qm: float | None
    p_value: float | None
    tau2: float | None
    r2: float | None
    hksj: KnappHartungRead


class AnalysisResult(ReadModel):
    """A fitted model. Undefined values are ``null``; sections appear only when requested."""

    k: int
    estimator: str
    ci_method: str
    level: float
    estimate: float | None
    se: float | None
    statistic: float | None
    p_value: float | None
    df: int | None = Field(description="Degrees of freedom of the t distribution; null for z.")
    ci_lower: float | None
    ci_upper: float | None
    pi_lower: float | None
    pi_upper: float | None
    tau2: float | None
    se_tau2: float | None
    tau: float | None
    tau2_ci: Interval | None
    i2: float | None = Field(description="Percent.")
    i2_ci: Interval | None
    h2: float | None
    h2_ci: Interval | None
    q: float | None
    q_df: int
    q_p_value: float | None
    converged: bool
    warnings: list[str]
    engine_version: str
    effects: list[EffectRead]
    egger: EggerRead | None = None
    egger_classic: EggerClassicRead | None = None
    begg: BeggRead | None = None
    trim_and_fill: TrimAndFillRead | None = None
    failsafe_n: int | None = None
    leave_one_out: list[LeaveOneOutRead] | None = None
    influence: list[InfluenceRead] | None = None
    cumulative: list[CumulativeRead] | None = None
    subgroups: SubgroupsRead | None = None
    meta_regression: MetaRegressionRead | None = None
    k_studies: int | None = Field(
        default=None, description="Studies the effects came from, when effects name a study."
    )
    k_effects: int | None = Field(default=None, description="Effects before averaging.")
    dependence: DependenceRead | None = None
    bayes: BayesRead | None = None
