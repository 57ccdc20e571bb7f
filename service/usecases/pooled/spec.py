"""What a pooled result analyses: the specification, its canonical form, and its validation.

The defaults are the review's own method (Burke et al. 2019): randomized and cluster randomized
trials only, the earliest post-intervention result, REML with Hartung-Knapp-Sidik-Jonkman
intervals at 95%, and a narrative synthesis instead of a pooled estimate below four randomized
studies. :meth:`PooledSpec.canonical` spells every option out, defaults included, in a fixed
order, so that two requests meaning the same analysis share one ETag and one cache entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import StrEnum

from service.db.repositories.pooled import VocabularyTerm
from service.errors import InvalidInputError, NotFoundError
from service.schemas.pooled import BayesQuery, OptionsRead, PooledSpecRead, SpecOptions
from service.stats.estimators import CiMethod, Tau2Estimator

DEFAULT_DESIGNS = ("cluster-randomized", "randomized")
MAX_WEEKS = 520.0
_WEEKS = re.compile(r"^weeks=(\d{1,3}(?:\.\d{1,3})?)$")


class Multiple(StrEnum):
    """How a study with several instruments for one outcome gives one effect."""

    AVERAGE = "average"
    FIRST = "first"


class Dependence(StrEnum):
    """How effects that share a study are modelled (issue 29; see pooled/dependence.py)."""

    AVERAGE = "average"  # one effect per study (``multiple``), the only model before issue 29
    THREE_LEVEL = "three_level"
    CHE = "che"


class MultiArm(StrEnum):
    """Several intervention arms of one trial against a shared control (issue 29)."""

    SEPARATE = "separate"  # each comparison an effect of the study (``multiple``/``dependence``)
    COMBINE = "combine"  # the arms merged into one group (Handbook 23.3.4; see multi_arm.py)
    # separate, and in the dependence models comparisons sharing a control correlate (vcalc)
    SHARED_CONTROL = "shared_control"


# Options at these defaults stay out of canonical(): the strings (and the cache keys and ETags
# made from them) of every specification that existed before the option are unchanged.
SILENT_DEFAULTS: dict[str, object] = {
    "dependence": "average",
    "bayes": None,
    "multi_arm": "separate",
}


class TauPriorName(StrEnum):
    """The tau priors of the pooled Bayesian block (see :mod:`service.stats._bayes_priors`)."""

    HALF_NORMAL = "half_normal"  # tau ~ |N(0, tau_scale^2)|, default scale 0.5 (bayesmeta)
    HALF_CAUCHY = "half_cauchy"  # tau ~ |Cauchy(0, tau_scale)|
    # tau ~ InvGamma(shape 1.51, scale 0.23): the Cochrane-wide empirical prior for SMDs of
    # Bartos et al. 2021 (Stat Med, doi:10.1002/sim.9170), as BayesTools/RoBMA's
    # prior_informed("Cochrane", parameter = "heterogeneity", type = "smd") codes it. The issue's
    # (1.71, 0.40) is not that prior (README, "Priors: what was checked").
    COCHRANE_SMD = "cochrane_smd"
    # log tau2 ~ t5(location -3.85, scale 1.93): Rhodes et al. 2015 (J Clin Epidemiol 68:52-60),
    # Table 3, mental health outcome, non-pharmacological comparison, as bayesmeta's
    # RhodesEtAlPrior("mental health outcome", "non-pharmacological", ...) codes it.
    RHODES_MENTAL_HEALTH = "rhodes_mental_health"


@dataclass(frozen=True, slots=True)
class BayesOptions:
    """The pooled Bayesian block: a tau prior and a flat (``effect_sd`` None) or N(0, sd) prior."""

    tau_prior: TauPriorName = TauPriorName.HALF_NORMAL
    tau_scale: float = 0.5  # half_normal / half_cauchy only
    effect_sd: float | None = None

    def __str__(self) -> str:
        effect = "flat" if self.effect_sd is None else f"normal:{self.effect_sd:g}"
        scaled = self.tau_prior in (TauPriorName.HALF_NORMAL, TauPriorName.HALF_CAUCHY)
        tau = f"{self.tau_prior}:{self.tau_scale:g}" if scaled else str(self.tau_prior)
        return f"{tau};{effect}"


@dataclass(frozen=True, slots=True)
class Timepoint:
    """``post`` or ``follow-up`` (the earliest result so labelled), or the nearest to ``weeks``."""

    label: str | None = "post"
    weeks: float | None = None

    @classmethod
    def parse(cls, text: str) -> Timepoint:
        """``post``, ``follow-up`` or ``weeks=N`` (0 <= N <= 520); ``ValueError`` otherwise."""
        if text in ("post", "follow-up"):
            return cls(label=text)
        match = _WEEKS.match(text)
        if match is None or float(match.group(1)) > MAX_WEEKS:
            raise ValueError("use 'post', 'follow-up' or 'weeks=N' with 0 <= N <= 520")
        return cls(label=None, weeks=float(match.group(1)))

    def __str__(self) -> str:
        return f"weeks={self.weeks:g}" if self.label is None else self.label


def _sorted(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


@dataclass(frozen=True, slots=True)
class PooledSpec:
    """One analysis of one outcome. Empty ``comparators`` means every comparator."""

    outcome: str
    category: str | None = None
    designs: tuple[str, ...] = DEFAULT_DESIGNS
    comparators: tuple[str, ...] = ()
    min_quality: str | None = None
    timepoint: Timepoint = field(default_factory=Timepoint)
    estimator: Tau2Estimator = Tau2Estimator.REML
    ci_method: CiMethod = CiMethod.HKSJ
    level: float = 0.95
    min_k: int = 4
    multiple: Multiple = Multiple.AVERAGE
    sections: tuple[str, ...] = ()
    mid: float | None = None  # the certainty rules' MID; None: the outcome's (vocabulary)
    egger: str = "regtest"  # the Egger variant certainty reads: regtest | classic
    dependence: Dependence = Dependence.AVERAGE
    bayes: BayesOptions | None = None  # the Bayesian block (issue 29); None: none
    multi_arm: MultiArm = MultiArm.SEPARATE

    def __post_init__(self) -> None:
        # Order and repetition of list options do not change the analysis: normalise them.
        for name in ("designs", "comparators", "sections"):
            object.__setattr__(self, name, _sorted(getattr(self, name)))
        object.__setattr__(self, "level", float(self.level))

    @property
    def needs_reported(self) -> bool:
        """Whether selection reads the data as reported (to combine multi-arm trials)."""
        return self.multi_arm is MultiArm.COMBINE

    def canonical(self) -> str:
        """Every option as ``name=value``, sorted by name; ``*`` for "no filter"."""
        parts = []
        for spec_field in sorted(fields(self), key=lambda f: f.name):
            value = getattr(self, spec_field.name)
            if spec_field.name in SILENT_DEFAULTS and SILENT_DEFAULTS[spec_field.name] == value:
                continue
            if isinstance(value, tuple):
                value = ",".join(value) or ("*" if spec_field.name == "comparators" else "")
            parts.append(f"{spec_field.name}={'*' if value is None else value}")
        return "&".join(parts)

    def options_read(self) -> OptionsRead:
        """The options, as the summary table echoes them (canonical without outcome)."""
        return OptionsRead(**self._options(), canonical=self.canonical())

    def read(self) -> PooledSpecRead:
        """The full specification, as every pooled response echoes it."""
        return PooledSpecRead(
            **self._options(),
            canonical=self.canonical(),
            outcome=self.outcome,
            category=self.category,
            sections=list(self.sections),
            mid=self.mid,
            dependence=str(self.dependence),
            multi_arm=str(self.multi_arm),
            bayes=None if self.bayes is None else str(self.bayes),
        )

    def _options(self) -> dict[str, object]:
        return {
            "design": list(self.designs),
            "comparator": list(self.comparators),
            "min_quality": self.min_quality,
            "timepoint": str(self.timepoint),
            "estimator": str(self.estimator),
            "ci_method": str(self.ci_method),
            "level": self.level,
            "min_k": self.min_k,
            "multiple": str(self.multiple),
            "egger": self.egger,
        }


def bayes_options(query: BayesQuery) -> BayesOptions | None:
    """The Bayesian block a pooled request asks for; ``None`` without ``bayes=true``."""
    if not query.bayes:
        return None
    return BayesOptions(TauPriorName(query.tau_prior), query.tau_scale, query.effect_prior_sd)


def spec_from_options(
    outcome: str,
    options: SpecOptions,
    *,
    category: str | None = None,
    sections: Iterable[str] = (),
    mid: float | None = None,
    bayes: BayesOptions | None = None,
) -> PooledSpec:
    """The specification of request ``options``; 422 naming ``timepoint`` when out of range."""
    try:
        timepoint = Timepoint.parse(options.timepoint)
    except ValueError as exc:
        raise InvalidInputError(
            str(exc), errors=[{"field": "timepoint", "message": str(exc)}]
        ) from exc
    return PooledSpec(
        outcome=outcome,
        category=category,
        designs=tuple(options.design) or DEFAULT_DESIGNS,
        comparators=tuple(options.comparator),
        min_quality=options.min_quality,
        timepoint=timepoint,
        estimator=Tau2Estimator.parse(options.estimator),
        ci_method=CiMethod(options.ci_method),
        level=options.level,
        min_k=options.min_k,
        multiple=Multiple(options.multiple),
        sections=tuple(sections),
        mid=mid,
        egger=options.egger,
        dependence=Dependence(options.dependence),
        bayes=bayes,
        multi_arm=MultiArm(options.multi_arm),
    )


@dataclass(frozen=True, slots=True)
class PooledVocabulary:
    """The vocabulary a specification is checked against and selection needs."""

    outcomes: tuple[str, ...]
    categories: tuple[str, ...]
    randomized: dict[str, bool]
    comparators: frozenset[str]
    quality_rank: dict[str, int]

    @classmethod
    def from_terms(cls, terms: Iterable[VocabularyTerm]) -> PooledVocabulary:
        """Group the rows of :meth:`PooledRepository.vocabulary`, each kind in its order."""
        ordered = sorted(terms, key=lambda t: (t.kind, t.number, t.slug))
        by_kind: dict[str, list[VocabularyTerm]] = {}
        for term in ordered:
            by_kind.setdefault(term.kind, []).append(term)
        return cls(
            outcomes=tuple(t.slug for t in by_kind.get("outcome", [])),
            categories=tuple(t.slug for t in by_kind.get("category", [])),
            randomized={t.slug: bool(t.number) for t in by_kind.get("design", [])},
            comparators=frozenset(t.slug for t in by_kind.get("comparator", [])),
            quality_rank={t.slug: t.number for t in by_kind.get("quality", [])},
        )

    def check_outcome(self, outcome: str) -> None:
        """404 for an outcome the review does not have."""
        if outcome not in self.outcomes:
            known = ", ".join(self.outcomes)
            raise NotFoundError(f"There is no outcome '{outcome}'; the outcomes are: {known}.")

    def check(self, spec: PooledSpec) -> None:
        """404 for an unknown outcome; 422 naming every unknown category, design, etc."""
        self.check_outcome(spec.outcome)
        errors = [
            {"field": name, "message": f"unknown {name} '{value}'"}
            for name, value, known in (
                ("category", spec.category, self.categories),
                ("min_quality", spec.min_quality, self.quality_rank),
                *(("design", d, self.randomized) for d in spec.designs),
                *(("comparator", c, self.comparators) for c in spec.comparators),
            )
            if value is not None and value not in known
        ]
        if errors:
            raise InvalidInputError("The analysis names unknown vocabulary.", errors=errors)
