"""Pooled results: the query parameters of an analysis specification, and what comes back.

A pooled result's ``result`` is an :class:`AnalysisResult`, so its field names are those of
``POST /v1/analyses``; the two can be compared field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from service.schemas.analyses import AnalysisResult, CiMethodName, EstimatorName, Interval
from service.schemas.certainty import CellCertaintyRead, CertaintyRead, StatementRead
from service.schemas.common import MAX_ID, ReadModel, RequestModel
from service.schemas.dependence import BayesRead, DependenceName, DependenceRead
from service.schemas.pooled_summary import (
    ONGOING_DESCRIPTION,
    OngoingCountRead,
    PooledStatus,
    PooledSummaryRead,
)
from service.schemas.pooled_view import PooledView
from service.schemas.studies import DataWarningRead
from service.schemas.vocabulary import (
    CategorySlug,
    ComparatorSlug,
    DesignSlug,
    QualityRatingSlug,
)

MultipleName = Literal["average", "first"]
MultiArmName = Literal["separate", "combine", "shared_control"]
EggerVariant = Literal["regtest", "classic"]
TauPriorChoice = Literal["half_normal", "half_cauchy", "cochrane_smd", "rhodes_mental_health"]
PooledSectionName = Literal[
    "egger", "begg", "trim_and_fill", "failsafe", "leave_one_out", "influence", "cumulative"
]
# weeks=N with N <= 520 (MAX_WEEKS in service.usecases.pooled.spec) said in the pattern
# itself, so a value the spec allows is one the parser takes (issue 25): up to three digits
# below 500, 500-519, or 520 with only zeros after the point.
TIMEPOINT_PATTERN = r"^(post|follow-up|weeks=(([0-4]?\d{1,2}|5[01]\d)(\.\d{1,3})?|520(\.0{1,3})?))$"


class SpecOptions(RequestModel):
    """The options shared by every pooled endpoint; the defaults are the review's method."""

    design: list[DesignSlug] = Field(
        default_factory=list,
        max_length=10,
        description="Designs to include (repeat to allow several). "
        "Default: randomized and cluster-randomized.",
    )
    comparator: list[ComparatorSlug] = Field(
        default_factory=list, max_length=10, description="Comparators to include. Default: all."
    )
    min_quality: QualityRatingSlug | None = Field(
        default=None, description="Drop studies rated below this (e.g. 'moderate' drops weak)."
    )
    timepoint: str = Field(
        default="post",
        pattern=TIMEPOINT_PATTERN,
        description="'post' (per study the earliest post-intervention result), 'follow-up' "
        "(the earliest follow-up), or 'weeks=N' (the result nearest to N weeks, N <= 520).",
    )
    estimator: EstimatorName = "REML"
    ci_method: CiMethodName = "hksj"
    level: float = Field(default=0.95, gt=0.5, lt=1.0)
    min_k: int = Field(
        default=4,
        ge=1,
        le=1000,
        description="Fewer eligible randomized studies than this: a narrative synthesis instead.",
    )
    multiple: MultipleName = Field(
        default="average",
        description="A study with several instruments for the outcome: 'average' their effects, "
        "or take the 'first' (the instrument the study lists first).",
    )
    egger: EggerVariant = Field(
        default="regtest",
        description="The Egger test the certainty rule reads: 'regtest' (metafor's default, a z "
        "test of the SE in a random-effects meta-regression) or 'classic' (Egger et al. 1997, "
        'weighted linear regression, t test with k - 2 df: regtest(model = "lm")).',
    )
    dependence: DependenceName = Field(
        default="average",
        description="Several effects per study: 'average' (one effect per study, as 'multiple' "
        "says), or also a 'three_level' or 'che' (rho 0.6, CR2) model of all the effects.",
    )
    multi_arm: MultiArmName = Field(
        default="separate",
        description="A trial with several intervention arms against one shared control: "
        "'separate' (each comparison is one of the study's effects, as 'multiple' and "
        "'dependence' treat several effects), or 'combine' (the intervention arms merged into "
        "one group, Cochrane Handbook 23.3.4 and Table 6.5.a, where the arms are reported as "
        "means and SDs; one effect against the control), or 'shared_control' (separate, and "
        "the dependence models correlate comparisons sharing a control as metafor's vcalc "
        "does with grp1/grp2/w1/w2).",
    )
    as_of: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="An evidence version number."
    )


class BayesQuery(RequestModel):
    """The Bayesian block of a pooled answer (issue 29); off by default."""

    bayes: bool = Field(
        default=False,
        description="Add the Bayesian random-effects posterior with P(effect > MID) (the "
        "outcome's MID, or mid=; effects are harmonised, positive favours peer support).",
    )
    tau_prior: TauPriorChoice = Field(
        default="half_normal",
        description="half_normal / half_cauchy (scale tau_scale), cochrane_smd (InvGamma(1.51, "
        "0.23), Bartos et al. 2021) or rhodes_mental_health (log tau2 ~ t5(-3.85, 1.93), "
        "Rhodes et al. 2015, mental health, non-pharmacological).",
    )
    tau_scale: float = Field(default=0.5, gt=0, le=10, description="Half-normal/Cauchy scale.")
    effect_prior_sd: float | None = Field(
        default=None, gt=0, le=100, description="SD of a N(0, sd) prior on the effect; null: flat."
    )


class PooledQuery(SpecOptions, BayesQuery):
    """The analysis of one outcome."""

    category: CategorySlug | None = Field(
        default=None,
        description="One intervention category; omitted: all, with a per-category subgroup block.",
    )
    sections: list[PooledSectionName] = Field(
        default_factory=list, max_length=7, description="Extra sections, e.g. leave_one_out."
    )
    view: PooledView = Field(
        default="full", description="'summary': the headline only, without the study list."
    )
    mid: float | None = Field(
        default=None,
        ge=0.01,
        le=2,
        description="MID (SMD) for the certainty rules; default: the outcome's, in the vocabulary.",
    )


class HistoryQuery(SpecOptions):
    """The analysis of one outcome after each version that changed its evidence."""

    category: CategorySlug | None = None
    mid: float | None = Field(
        default=None,
        ge=0.01,
        le=2,
        description="MID (SMD) for the certainty rules; default: the outcome's, in the vocabulary.",
    )


class OptionsRead(ReadModel):
    """Every option of the analysis, defaults included."""

    design: list[str]
    comparator: list[str] = Field(description="Empty: every comparator.")
    min_quality: str | None
    timepoint: str
    estimator: str
    ci_method: str
    level: float
    min_k: int
    multiple: MultipleName
    egger: EggerVariant = "regtest"
    canonical: str = Field(description="The specification in canonical form (the cache key).")


class PooledSpecRead(OptionsRead):
    """The full specification a pooled result used."""

    outcome: str
    category: str | None = Field(description="Null: every category, with subgroups.")
    sections: list[str]
    mid: float | None = Field(default=None, description="Null: the outcome's MID.")
    dependence: DependenceName = "average"
    multi_arm: MultiArmName = "separate"
    bayes: str | None = Field(
        default=None, description="The Bayesian block's priors ('tau prior;effect prior')."
    )


class CombinationRead(ReadModel):
    """How one effect per study was obtained from several instruments."""

    method: MultipleName
    assumed_correlation: float | None
    description: str


class PooledStudyRead(ReadModel):
    """One study as it entered the analysis."""

    study_id: int
    label: str
    year: int
    category: str
    design: str
    comparator: str
    quality: str
    timepoint_weeks: float
    timepoint_label: str
    instruments: list[str] = Field(description="The instruments whose effects were combined.")
    participants: int
    yi: float = Field(description="Hedges' g; positive favours peer support.")
    vi: float
    ci_lower: float = Field(description="The study's own (normal) confidence interval.")
    ci_upper: float
    weight: float | None = Field(description="Percent of the total weight; null when not pooled.")
    data_warnings: list[DataWarningRead] = Field(
        default_factory=list,
        description="Plausibility warnings stored with the study's results (a curator "
        "included it despite them).",
    )
    risk_of_bias: str | None = Field(
        default=None,
        description="The overall risk-of-bias judgement of the results used (the worst of "
        "them): low | some_concerns | high (RoB 2) or low | unclear | high (RoB 1); null when "
        "not assessed (certainty then reads the quality rating).",
    )
    risk_of_bias_tool: Literal["rob2", "rob1"] | None = None
    risk_of_bias_domains: dict[str, str] = Field(
        default_factory=dict,
        description="The domain judgements of the result with that judgement (empty when not "
        "assessed).",
    )


class DirectionsRead(ReadModel):
    """Vote counting by direction of effect, with the exact sign test."""

    k: int
    favours_intervention: int = Field(description="Studies whose point estimate favours it.")
    favours_intervention_ci_excludes_zero: int | None = Field(
        None,
        description="Of those, the studies whose own confidence interval excludes no effect "
        "(the others point to a benefit, but their interval includes no effect).",
    )
    favours_control: int
    favours_control_ci_excludes_zero: int | None = Field(
        None, description="Studies favouring the comparator whose interval excludes no effect."
    )
    no_difference: int
    sign_test_p_value: float
    proportion: float | None = Field(description="Share favouring the intervention.")
    proportion_ci: Interval | None = Field(description="Clopper-Pearson interval.")
    level: float


class NarrativeRead(ReadModel):
    """The review's narrative synthesis, given instead of a pooled estimate."""

    reason: str
    k_randomized: int
    min_k: int
    directions: DirectionsRead | None = Field(description="Null when no study is eligible.")


class PooledRead(ReadModel):
    """The pooled result of one outcome, or its narrative synthesis."""

    outcome: str
    status: PooledStatus
    evidence_version: int
    engine_version: str
    spec: PooledSpecRead
    combination: CombinationRead
    k: int
    k_randomized: int
    participants: int
    studies: list[PooledStudyRead]
    result: AnalysisResult | None = Field(description="As POST /v1/analyses; null if narrative.")
    narrative: NarrativeRead | None
    certainty: CertaintyRead | None = Field(
        default=None, description="GRADE certainty; null unless status is pooled."
    )
    statement: StatementRead | None = None
    dependence: DependenceRead | None = Field(
        default=None,
        description="The three-level or CHE model of every effect (null: 'average' or narrative).",
    )
    bayes: BayesRead | None = Field(
        default=None,
        description="Bayesian random effects of the study-level effects, with P(effect > MID) "
        "(null unless bayes=true and pooled).",
    )
    ongoing: OngoingCountRead | None = Field(default=None, description=ONGOING_DESCRIPTION)


class PooledCellRead(PooledSummaryRead):
    """One outcome in one category (``category`` null: all categories)."""

    outcome: str
    category: str | None
    certainty: CellCertaintyRead | None = Field(
        default=None,
        description="GRADE certainty (the outcome's MID); null unless status is pooled. Its "
        "domains, rules and numbers: the cell's own GET /v1/outcomes/{outcome}/pooled.",
    )
    statement: StatementRead | None = Field(
        default=None, description="The cell's answer in one sentence, pooled or narrative."
    )


class PooledTableRead(ReadModel):
    """Every outcome, overall and per category."""

    evidence_version: int
    engine_version: str
    options: OptionsRead
    cells: list[PooledCellRead]


class HistoryPointRead(PooledSummaryRead):
    """The pooled result right after one version that changed the outcome's evidence."""

    evidence_version: int
    created_at: datetime
    kind: str
    summary: str
    certainty: CellCertaintyRead | None = Field(
        default=None,
        description="The GRADE certainty of the pooled answer at this version, as the summary "
        "table gives it (level, downgraded domains); null unless pooled.",
    )
    statement: StatementRead | None = Field(
        default=None, description="The answer at this version in one sentence."
    )


class PooledHistoryRead(ReadModel):
    """An outcome's living trajectory, oldest first."""

    outcome: str
    evidence_version: int
    engine_version: str
    spec: PooledSpecRead
    points: list[HistoryPointRead]


class TableQuery(SpecOptions):
    """The options of the summary table (every outcome and category)."""
