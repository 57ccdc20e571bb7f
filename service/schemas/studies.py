"""Studies as the API accepts and returns them: the trial, its arms and its outcome results.

Every string and list is bounded and every float finite; unknown fields are rejected. Rules that
need several fields or the database (arms consistent with the results, an instrument belonging
to its outcome, slugs that exist) are checked by the use case, which names the offending fields
in the same way as these models do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import WithJsonSchema

from service.schemas.common import (
    MAX_ID,
    NONBLANK_PATTERN,
    SPACE_CLASS,
    FreeText,
    ReadModel,
    RequestModel,
    StatedEnum,
    TermSlug,
)
from service.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, Cursor
from service.schemas.pooled_summary import PooledChangeRead
from service.schemas.reported import ReportedData, ReportedModel
from service.schemas.risk_of_bias import RiskOfBiasCreate, RiskOfBiasRead
from service.schemas.vocabulary import (
    CATEGORIES,
    COMPARATORS,
    DESIGNS,
    INSTRUMENTS,
    OUTCOMES,
    QUALITY_RATINGS,
)

StudyStatus = Literal["pending", "included", "excluded", "withdrawn"]
ArmRole = Literal["intervention", "control"]
TimepointLabel = Literal["post", "follow-up"]
EARLIEST_YEAR = 1950
MAX_BATCH = 1000
REQUIRED_FIELDS = (
    "title",
    "authors",
    "year",
    "design",
    "category",
    "intervention_name",
    "comparator",
    "population",
    "total_randomized",
    "quality_rating",
    "source",
    "tags",
    "arms",
    "outcome_results",
)

Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
# A slug of the review's vocabulary in a study (service.schemas.common.TermSlug): the spec
# states each kind's slugs (StatedEnum, the same component as the query parameters'), and an
# instrument's by its outcome.
Label = Annotated[FreeText, StringConstraints(min_length=1, max_length=100)]
# The pattern says in the schema what stripping then min_length=3 checks: a character that is
# not whitespace (as pydantic strips it: Unicode White_Space) at each end of at least three;
# and no NUL, which every request model refuses (service.schemas.common.reject_nul).
_SPACE = SPACE_CLASS
REASON_PATTERN = f"^[{_SPACE}]*[^{_SPACE}\\x00][^\\x00]+[^{_SPACE}\\x00][{_SPACE}]*$"
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=2000, pattern=REASON_PATTERN),
]
# min_length=2 after stripping, said the same way (the search text of GET /v1/studies).
SEARCH_PATTERN = f"^[{_SPACE}]*[^{_SPACE}\\x00][^\\x00]*[^{_SPACE}\\x00][{_SPACE}]*$"
NonBlank = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NONBLANK_PATTERN)
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9-]{0,49}$"),
]
_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def normalize_doi(value: object) -> object:
    """DOIs compare case-insensitively and without their resolver prefix: store them bare."""
    if isinstance(value, str):
        return _DOI_PREFIX.sub("", value.strip()).lower()
    return value


def normalize_registration_id(value: object) -> object:
    """Registry ids (NCT01234567, ISRCTN12345678) compare upper-case and without spaces."""
    if isinstance(value, str):
        return value.strip().replace(" ", "").upper()
    return value


def _plausible_year(year: int) -> int:
    latest = datetime.now(UTC).year + 1
    if not EARLIEST_YEAR <= year <= latest:
        raise ValueError(f"year must be between {EARLIEST_YEAR} and {latest}")
    return year


# Pydantic leaves a pattern out of the JSON schema when a BeforeValidator runs first, so the
# spec said "any string up to 64 characters" of ids the validator refuses (issue 25). The
# spec's patterns describe what a caller may send before normalisation, a subset of what is
# accepted: a DOI without its resolver prefix (no U+0130, the one character whose lower case
# is longer, so no spec-valid DOI outgrows 255; no NUL, refused in a URL and a body alike),
# a registry id in either case, without spaces.
Doi = Annotated[
    str,
    BeforeValidator(normalize_doi),
    StringConstraints(max_length=255, pattern=r"^10\.\d{4,9}/\S+$"),
    WithJsonSchema(
        {"type": "string", "maxLength": 255, "pattern": r"^10\.[0-9]{4,9}/[^\s\u0130\x00]+$"}
    ),
]
RegistrationId = Annotated[
    str,
    BeforeValidator(normalize_registration_id),
    StringConstraints(max_length=64, pattern=r"^[A-Z][A-Z0-9./-]{3,63}$"),
    WithJsonSchema(
        {"type": "string", "maxLength": 64, "pattern": r"^[A-Za-z][A-Za-z0-9./-]{3,63}$"}
    ),
]
Pmid = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,9}$")]
# The year's upper bound is next year by the service's clock, which a committed spec cannot
# state: it states the fixed outer bound the clock's stays under until 2099 (LATEST_STATED_YEAR),
# and says the rest in words. A year past next year within it is refused with a 422 naming
# ``year`` (issue 25).
LATEST_STATED_YEAR = 2100
Year = Annotated[
    int,
    AfterValidator(_plausible_year),
    Field(
        json_schema_extra={
            "minimum": EARLIEST_YEAR,
            "maximum": LATEST_STATED_YEAR,
            "description": f"Publication year, from {EARLIEST_YEAR} to next year by the "
            "service's clock (the spec's maximum is a fixed outer bound; a later year is a 422).",
        }
    ),
]


def _distinct(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Tags = Annotated[list[Tag], AfterValidator(_distinct), Field(max_length=20)]


class Timepoint(ReportedModel):
    weeks: float = Field(ge=0, le=520, description="Weeks since randomization.")
    label: TimepointLabel


class ClusterDesign(ReportedModel):
    """The clustering of a cluster-randomized trial (Cochrane Handbook, section 23.1.4).

    The effect size always comes from the actual ns; only its variance changes. When the
    reported statistic ignores clustering (the default), the variance is multiplied by the
    design effect ``1 + (mean_cluster_size - 1) * icc`` (Handbook 23.1.4.2-3). When it already
    accounts for clustering (a t, F, p, mean difference or effect from a multilevel model or
    GEE), the statistic is taken back to the individual-level scale (t times the square root of
    the design effect) so that the effect is the same as from the means, and its variance is
    the inflated one. Means, SDs, medians and counts cannot account for clustering.
    """

    icc: float = Field(ge=0, lt=1, description="Intracluster correlation coefficient.")
    mean_cluster_size: float = Field(ge=1, le=100_000)
    reported_accounts_for_clustering: bool = Field(
        default=False,
        description="True when the reported statistic (t, F, p, mean difference, effect with SE "
        "or CI) comes from an analysis that already allows for clustering.",
    )


class ArmCreate(RequestModel):
    label: Label = Field(examples=["Peer-led group"])
    role: ArmRole
    n_randomized: int = Field(ge=2, le=1_000_000)


def _instrument_of(outcomes: list[str]) -> dict[str, Any]:
    """An if/then/else chain, one link per outcome: the instrument is one of its outcome's
    (openapi-python-client leaves if/then/else alone; the use case refuses any other with
    the nearest slug, which an enum on the property would cut short: see StatedEnum)."""
    if not outcomes:
        return {}
    outcome, rest = outcomes[0], outcomes[1:]
    return {
        "if": {"required": ["outcome"], "properties": {"outcome": {"const": outcome}}},
        "then": {"properties": {"instrument": {"enum": list(INSTRUMENTS[outcome])}}},
        "else": _instrument_of(rest),
    }


class OutcomeResultCreate(RequestModel):
    """One outcome at one time point, comparing an intervention arm with a control arm."""

    model_config = ConfigDict(json_schema_extra=_instrument_of(list(INSTRUMENTS)))

    outcome: Annotated[TermSlug, StatedEnum(OUTCOMES)] = Field(examples=["empowerment"])
    instrument: TermSlug = Field(examples=["empowerment-scale"])
    timepoint: Timepoint
    intervention_arm: Label | None = Field(
        default=None, description="An arm label; may be omitted when the study has only one."
    )
    control_arm: Label | None = Field(
        default=None, description="An arm label; may be omitted when the study has only one."
    )
    data: ReportedData
    cluster: ClusterDesign | None = None
    source_location: FreeText | None = Field(default=None, max_length=200, examples=["Table 2"])
    risk_of_bias: RiskOfBiasCreate | None = Field(
        default=None,
        description="This result's risk of bias (RoB 2, or RoB 1 for older trials); null: not "
        "assessed, and certainty falls back on the study's quality rating.",
    )


class SourceCreate(RequestModel):
    """Who extracted the data, and from what."""

    extracted_by: FreeText = Field(min_length=1, max_length=200)
    document: FreeText | None = Field(default=None, max_length=500, examples=["Full text, 2014"])
    location: FreeText | None = Field(default=None, max_length=200, examples=["p. 6, Tables 2-3"])


class StudyFields(RequestModel):
    """The descriptive fields of a study, shared by creation and the stored representation."""

    title: FreeText = Field(min_length=1, max_length=500)
    authors: FreeText = Field(
        min_length=1, max_length=2000, examples=["Boevink W, Kroon H, et al."]
    )
    year: Year
    doi: Doi | None = None
    pmid: Pmid | None = None
    registration_id: RegistrationId | None = Field(default=None, examples=["NCT01234567"])
    country: FreeText | None = Field(default=None, min_length=2, max_length=100)
    design: Annotated[TermSlug, StatedEnum(DESIGNS)] = Field(examples=["randomized"])
    category: Annotated[TermSlug, StatedEnum(CATEGORIES)] = Field(examples=["peer-group"])
    intervention_name: FreeText = Field(min_length=1, max_length=300)
    intervention_description: FreeText | None = Field(default=None, max_length=5000)
    comparator: Annotated[TermSlug, StatedEnum(COMPARATORS)] = Field(
        examples=["treatment-as-usual"]
    )
    comparator_description: FreeText | None = Field(default=None, max_length=2000)
    population: FreeText = Field(min_length=1, max_length=2000)
    setting: FreeText | None = Field(default=None, max_length=500)
    total_randomized: int = Field(ge=4, le=2_000_000)
    quality_rating: Annotated[TermSlug, StatedEnum(QUALITY_RATINGS)] = Field(examples=["moderate"])
    quality_appraisal: FreeText | None = Field(default=None, max_length=5000)
    source: SourceCreate
    tags: Tags = Field(default_factory=list)


class StudyCreate(StudyFields):
    """A new study with its arms and outcome results."""

    arms: list[ArmCreate] = Field(min_length=2, max_length=20)
    outcome_results: list[OutcomeResultCreate] = Field(min_length=1, max_length=200)
    duplicate_of: None = Field(
        default=None,
        description="Send null to confirm the study is not the stored study a "
        "possible-duplicate 409 named (recorded in the version's summary). Omitted: a likely "
        "near-duplicate (similar title, same first author, year +/- 1, same arm sizes) is "
        "refused with 409 possible-duplicate.",
    )

    @property
    def confirmed_distinct(self) -> bool:
        """Whether the caller sent ``duplicate_of: null``."""
        return "duplicate_of" in self.model_fields_set


class StudyBatchCreate(RequestModel):
    """Up to 1,000 studies, stored all together in one evidence version or not at all."""

    studies: list[StudyCreate] = Field(min_length=1, max_length=MAX_BATCH)


def _not_nullable(schema: dict[str, Any]) -> None:
    """The spec says what ``StudyUpdate._not_null`` refuses: a field every study has may be
    omitted, never null (null means 'remove' for the others) (issue 25)."""
    for name in REQUIRED_FIELDS:
        field = schema["properties"][name]
        field.pop("default", None)
        branches = [b for b in field.pop("anyOf", []) if b != {"type": "null"}]
        if len(branches) == 1:
            field.update(branches[0])
        elif branches:
            field["anyOf"] = branches


class StudyUpdate(RequestModel):
    """The fields to change; omitted fields keep their value.

    Objects and lists (``source``, ``tags``, ``arms``, ``outcome_results``) are replaced as a
    whole. Fields that a study must have cannot be set to null.
    """

    model_config = ConfigDict(json_schema_extra=_not_nullable)

    title: FreeText | None = Field(default=None, min_length=1, max_length=500)
    authors: FreeText | None = Field(default=None, min_length=1, max_length=2000)
    year: Year | None = None
    doi: Doi | None = None
    pmid: Pmid | None = None
    registration_id: RegistrationId | None = None
    country: FreeText | None = Field(default=None, min_length=2, max_length=100)
    design: Annotated[TermSlug, StatedEnum(DESIGNS)] | None = None
    category: Annotated[TermSlug, StatedEnum(CATEGORIES)] | None = None
    intervention_name: FreeText | None = Field(default=None, min_length=1, max_length=300)
    intervention_description: FreeText | None = Field(default=None, max_length=5000)
    comparator: Annotated[TermSlug, StatedEnum(COMPARATORS)] | None = None
    comparator_description: FreeText | None = Field(default=None, max_length=2000)
    population: FreeText | None = Field(default=None, min_length=1, max_length=2000)
    setting: FreeText | None = Field(default=None, max_length=500)
    total_randomized: int | None = Field(default=None, ge=4, le=2_000_000)
    quality_rating: Annotated[TermSlug, StatedEnum(QUALITY_RATINGS)] | None = None
    quality_appraisal: FreeText | None = Field(default=None, max_length=5000)
    source: SourceCreate | None = None
    tags: Tags | None = None
    arms: list[ArmCreate] | None = Field(default=None, min_length=2, max_length=20)
    outcome_results: list[OutcomeResultCreate] | None = Field(
        default=None, min_length=1, max_length=200
    )
    duplicate_of: None = Field(
        default=None,
        description="Send null to confirm the changed study is not the stored study a "
        "possible-duplicate 409 named.",
    )

    @field_validator(*REQUIRED_FIELDS)
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: omitting a field is fine, nulling it is not.
        if value is None:
            raise ValueError("a study must have this field; it cannot be null")
        return value


class ReasonBody(RequestModel):
    """Why a study is excluded or withdrawn."""

    reason: Reason = Field(examples=["Not a randomized comparison of peer support."])


class IncludeBody(RequestModel):
    """Why a study is included although an error-level data warning stands (optional
    otherwise)."""

    reason: Reason | None = Field(
        None, examples=["The SD was checked against the paper's Table 2: it is an SD."]
    )


class ArmRead(ReadModel):
    label: str
    role: ArmRole
    n_randomized: int


class EffectSizeRead(ReadModel):
    """The derived effect size, stored beside the reported data."""

    yi: float = Field(description="Hedges' g; positive favours the intervention.")
    vi: float = Field(description="Sampling variance of yi.")
    sign_flipped: bool = Field(description="True when flipped for a lower-is-better scale.")
    conversion: str = Field(examples=["smd_from_means"])
    engine_version: str
    estimated: bool = Field(
        default=False,
        description="True when the effect rests on an approximation (means and SDs estimated "
        "from medians, a p value given as a bound, an SMD from a dichotomised scale, an "
        "ANCOVA-adjusted SD); `conversion` names the method.",
    )


class DataWarningRead(ReadModel):
    """A plausibility warning stored with a result: the study waits for a curator.

    Warnings stored before codes existed have only ``field`` and ``message``; the others are
    then null."""

    code: str | None = Field(None, examples=["sd-looks-like-se"])
    level: Literal["error", "warning"] | None = Field(
        None,
        description="'error': including the study while it stands needs a reason, recorded "
        "in the audit trail; 'warning': worth a look.",
    )
    field: str
    value: str | None = Field(None, description="The value as sent.")
    plausible: str | None = Field(None, description="What a plausible value would be.")
    message: str


class OutcomeResultRead(ReadModel):
    outcome: str
    instrument: str
    timepoint: Timepoint
    intervention_arm: str
    control_arm: str
    data: ReportedData
    cluster: ClusterDesign | None
    source_location: str | None
    effect: EffectSizeRead
    data_warnings: list[DataWarningRead] = Field(
        default_factory=list,
        description="Plausibility warnings (e.g. an SD that looks like an SE); a study with any "
        "stays pending until a curator includes it.",
    )
    risk_of_bias: RiskOfBiasRead | None = None


class SourceRead(ReadModel):
    extracted_by: str
    document: str | None
    location: str | None


class StudyRead(ReadModel):
    """A study as of one evidence version (the newest unless ``as_of`` is given)."""

    id: int
    title: str
    authors: str
    year: int
    doi: str | None
    pmid: str | None
    registration_id: str | None
    country: str | None
    design: str
    category: str
    intervention_name: str
    intervention_description: str | None
    comparator: str
    comparator_description: str | None
    population: str
    setting: str | None
    total_randomized: int
    quality_rating: str
    quality_appraisal: str | None
    source: SourceRead
    tags: list[str]
    status: StudyStatus
    status_reason: str | None
    arms: list[ArmRead]
    outcome_results: list[OutcomeResultRead]
    created_at: datetime
    created_version: int = Field(description="The evidence version that added the study.")
    valid_from: int = Field(description="The evidence version this state was written in.")
    valid_to: int | None = Field(description="The version that replaced it; null if current.")


POOLED_CHANGES = (
    "For each outcome the write touched, the default-specification pooled result before and "
    "after it; empty when nothing changed. Null unless asked for with "
    "?include=pooled_changes: the conclusions worker computes them after the write, and the "
    "'changes' link answers them (on demand when the worker has not yet)."
)
CHANGES_LINK = "Where the version's pooled changes are: GET /v1/versions/{n}/changes."
PREVIEW_LINK = (
    "For a study that waits as pending: what including it would change, "
    "GET /v1/studies/{id}/preview. Null otherwise."
)


class StudyWriteRead(ReadModel):
    """The outcome of a write to one study."""

    evidence_version: int = Field(
        description="The new evidence version; the current one when nothing changed."
    )
    study: StudyRead
    pooled_changes: list[PooledChangeRead] | None = Field(description=POOLED_CHANGES)
    changes: str = Field(description=CHANGES_LINK)
    preview: str | None = Field(default=None, description=PREVIEW_LINK)


class StudyBatchWriteRead(ReadModel):
    """The outcome of a batch: every study, all in one new evidence version."""

    evidence_version: int
    studies: list[StudyRead]
    pooled_changes: list[PooledChangeRead] | None = Field(description=POOLED_CHANGES)
    changes: str = Field(description=CHANGES_LINK)


class StudyListQuery(RequestModel):
    """Filters of ``GET /v1/studies``; repeat a list parameter to allow several values."""

    outcome: list[Slug] = Field(default_factory=list, max_length=10)
    category: list[Slug] = Field(default_factory=list, max_length=10)
    design: list[Slug] = Field(default_factory=list, max_length=10)
    status: list[StudyStatus] = Field(
        default_factory=list, max_length=4, description="Default: all but withdrawn."
    )
    year_from: int | None = Field(default=None, ge=1900, le=2200)
    year_to: int | None = Field(default=None, ge=1900, le=2200)
    q: str | None = Field(
        default=None,
        min_length=2,
        max_length=200,
        pattern=SEARCH_PATTERN,
        description="Text in the title or authors.",
    )
    registration_id: RegistrationId | None = None
    doi: Doi | None = None
    as_of: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="An evidence version number."
    )
    cursor: Cursor | None = Field(default=None, description="A page's next_cursor.")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
