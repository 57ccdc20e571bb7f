"""Group sequential boundaries (stateless) and the sequential monitoring of an outcome."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from service.schemas.common import ReadModel, RequestModel
from service.schemas.pooled import PooledSpecRead, SpecOptions
from service.schemas.vocabulary import CategorySlug

SpendingName = Literal["obf", "pocock"]
Fraction = Annotated[float, Field(gt=0, le=100)]
# An anticipated effect or MID: below 0.01 SD no trial could be sized for it.
Mid = Annotated[float, Field(ge=0.01, le=2)]
DECISION_AID = (
    "A decision aid, not the answer: trial sequential monitoring guards the living estimate "
    "against the false positives of repeated updating. The Cochrane Handbook (ch. 22) "
    "discourages it for a review's main conclusions; read it beside the conventional result."
)


class BoundariesRequest(RequestModel):
    """A group sequential design: looks, error rate and spending function."""

    information_fractions: list[Fraction] = Field(
        min_length=1, max_length=20, examples=[[0.25, 0.5, 0.75, 1.0]],
        description="Information at each look as a fraction of the total; strictly increasing.",
    )  # fmt: skip
    alpha: float = Field(default=0.05, ge=1e-6, lt=0.5, description="Total type I error.")
    sides: Literal[1, 2] = Field(default=2, description="2: symmetric two-sided boundaries.")
    spending: SpendingName = Field(
        default="obf", description="Lan-DeMets O'Brien-Fleming ('obf') or Pocock ('pocock')."
    )


class BoundariesRead(ReadModel):
    """Boundaries in z, one per look; a look that spends nothing has a null boundary."""

    information_fractions: list[float]
    alpha: float
    sides: int
    spending: SpendingName
    boundaries: list[float | None] = Field(description="Upper boundary (z) per look.")
    lower_boundaries: list[float | None] | None = Field(
        description="Two-sided: the mirrored lower boundaries; one-sided: null."
    )
    cumulative_alpha: list[float] = Field(description="Alpha spent per tail up to each look.")
    crossing_probability: list[float] = Field(
        description="Null probability of first crossing the upper boundary at each look."
    )
    nominal_p: list[float | None] = Field(description="The nominal p-value of each boundary.")
    method: str


class MonitoringQuery(SpecOptions):
    """The pooled specification, and the sequential design."""

    category: CategorySlug | None = None
    mid: Mid | None = Field(
        default=None,
        description="Anticipated effect (SMD) for the required information size; default: "
        "the outcome's MID.",
    )  # fmt: skip
    alpha: float = Field(default=0.05, ge=1e-6, lt=0.5, description="Two-sided type I error.")
    power: float = Field(default=0.9, gt=0.5, le=0.9999)
    futility: bool = Field(
        default=False,
        description="Also the non-binding futility boundaries (O'Brien-Fleming-type beta "
        "spending of 1 - power under the anticipated effect).",
    )  # fmt: skip


class LookRead(ReadModel):
    """One evidence version seen as an interim look of a sequential design."""

    evidence_version: int
    k: int
    participants: int
    information_fraction: float
    z: float | None = Field(description="Cumulative Z of the random-effects (DL) estimate.")
    boundary: float | None = Field(
        description="The O'Brien-Fleming boundary (z). Null: the spending function spends "
        "(next to) nothing at this information fraction: Lan-DeMets O'Brien-Fleming alpha(t) = "
        "2 - 2 Phi(z_{1-alpha/4} / sqrt(t)) is below 1e-15 per tail (t below about 0.075 at "
        "alpha 0.05), a boundary no Z reaches: the look cannot stop the review."
    )
    crossed: bool
    futility_boundary: float | None = Field(
        default=None,
        description="futility=true: |Z| below it is futility (0: no futility region yet); "
        "null when not asked for.",
    )  # fmt: skip


class DiversityRead(ReadModel):
    d2: float = Field(description="1 - V_F / V_R, with the DerSimonian-Laird tau2.")
    tau2_dl: float
    variance_fixed: float
    variance_random: float


class MonitoringRead(ReadModel):
    """Trial sequential monitoring of one outcome's living estimate (a decision aid)."""

    outcome: str
    decision_aid: str = Field(description="What this is, and what it is not.")
    evidence_version: int
    spec: PooledSpecRead
    mid: float
    alpha: float
    power: float
    futility: bool = Field(description="Whether the futility boundaries were asked for.")
    futility_drift: float | None = Field(
        description="futility=true: the mean of Z at the RIS under the anticipated effect, "
        "z_{1-alpha/2} + z_{power}."
    )
    diversity: DiversityRead | None
    ris_unadjusted: float = Field(description="4 (z_{1-a/2} + z_{1-b})^2 / mid^2 participants.")
    ris: float = Field(description="The required information size, divided by 1 - D2.")
    participants: int
    information_fraction: float
    status: Literal["boundary_crossed", "futility", "ris_reached", "continue", "no_evidence"]
    looks: list[LookRead]
    skipped_versions: list[int] = Field(
        description="Versions adding under 1% of the RIS (or no participants): not looks."
    )
    estimate: float | None = Field(description="Random-effects (DL) estimate at the last look.")
    ci_level: float = Field(
        description="The level of the conventional interval: 1 - alpha (alpha=0.01 gives 99%)."
    )
    ci_lower: float | None = Field(
        description="Its conventional confidence interval, at ci_level (normal quantiles)."
    )
    ci_upper: float | None
    tsa_ci_lower: float | None = Field(description="TSA-adjusted: estimate -+ boundary x SE.")
    tsa_ci_upper: float | None
