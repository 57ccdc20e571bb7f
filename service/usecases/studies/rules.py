"""The rules a study must meet beyond its schema, and the effect sizes derived from it.

:func:`prepare_studies` checks the vocabulary (slugs exist, each instrument measures its outcome)
and the consistency of arms and results, then derives every effect size. It collects every
problem instead of stopping at the first, naming fields as the schema's own validation errors
do (``outcome_results.0.data.means.intervention.n``), so a client can fix a study in one go.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from sqlalchemy.orm import Session

from service.db.repositories.vocabulary import VocabularyRepository
from service.errors import InvalidInputError, fields_detail
from service.schemas.reported import ARM_LEVEL_FORMS, n_field_paths, reported_ns
from service.schemas.studies import ArmCreate, OutcomeResultCreate, StudyCreate
from service.stats.errors import StatsInputError
from service.usecases.studies.effect_sizes import DerivedEffect, EffectRequest, derive_effects
from service.usecases.studies.plausibility import Scale, check_result
from service.usecases.studies.suggestions import unknown_slug_message

CLUSTER_DESIGN = "cluster-randomized"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The slugs a study may use, and each instrument's outcome and direction."""

    designs: frozenset[str]
    categories: frozenset[str]
    comparators: frozenset[str]
    quality_ratings: frozenset[str]
    outcomes: frozenset[str]
    instrument_outcome: dict[str, str]
    higher_is_better: dict[str, bool]
    scales: dict[str, Scale] = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)  # instrument slug -> "ES"

    @classmethod
    def cached(cls, session: Session) -> Vocabulary:
        """:meth:`load`, remembered per database and schema revision (one small query).

        Loading the six vocabulary tables cost ~11 ms of every write at 10,000 studies; the
        terms change only with a migration, which changes the key
        (:meth:`.VocabularyRepository.schema_revision`). Callers must not change the result.
        """
        key = VocabularyRepository(session).schema_revision()
        with _LOADED_LOCK:
            found = _LOADED.get(key)
        if found is None:
            found = cls.load(session)
            with _LOADED_LOCK:
                _LOADED[key] = found
        return found

    @classmethod
    def load(cls, session: Session) -> Vocabulary:
        """Read the vocabulary once (a batch checks every study against the same snapshot)."""
        repository = VocabularyRepository(session)
        instruments = repository.instruments()
        return cls(
            designs=frozenset(d.slug for d in repository.designs()),
            categories=frozenset(c.slug for c in repository.categories()),
            comparators=frozenset(c.slug for c in repository.comparators()),
            quality_ratings=frozenset(q.slug for q in repository.quality_ratings()),
            outcomes=frozenset(o.slug for o in repository.outcomes()),
            instrument_outcome={i.slug: i.outcome_slug for i in instruments},
            higher_is_better={i.slug: i.higher_is_better for i in instruments},
            abbreviations={i.slug: i.abbreviation for i in instruments if i.abbreviation},
            scales={
                i.slug: Scale(i.abbreviation or i.name, i.scale_min, i.scale_max, i.scale_source)
                for i in instruments
                if i.scale_min is not None and i.scale_max is not None
            },
        )


_LOADED: LRUCache[tuple[str, tuple[str, ...]], Vocabulary] = LRUCache(maxsize=8)
_LOADED_LOCK = threading.Lock()


@dataclass(slots=True)
class FieldErrors:
    """Problems found so far, each naming its field; raised together as one 422."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, field_path: str, message: str) -> None:
        self.items.append({"field": field_path, "message": message, "type": "value_error"})

    def raise_if_any(self, detail: str = "The study breaks the review's rules.") -> None:
        if self.items:
            raise InvalidInputError(fields_detail(f"{detail} ", self.items), errors=self.items)


@dataclass(frozen=True, slots=True)
class PreparedResult:
    """A result whose arms are resolved to labels and whose effect size is derived."""

    result: OutcomeResultCreate
    intervention_arm: str
    control_arm: str
    effect: DerivedEffect
    warnings: tuple[dict[str, str], ...] = ()  # plausibility warnings, stored with the result


@dataclass(frozen=True, slots=True)
class PreparedStudy:
    """A study that met every rule, ready to be stored."""

    study: StudyCreate
    results: tuple[PreparedResult, ...]


def _check_slugs(study: StudyCreate, vocabulary: Vocabulary, errors: FieldErrors, at: str) -> None:
    for name, value, allowed in (
        ("design", study.design, vocabulary.designs),
        ("category", study.category, vocabulary.categories),
        ("comparator", study.comparator, vocabulary.comparators),
        ("quality_rating", study.quality_rating, vocabulary.quality_ratings),
    ):
        if value not in allowed:
            errors.add(at + name, unknown_slug_message(name.replace("_", " "), value, allowed))


def _check_arms(arms: Sequence[ArmCreate], total: int, errors: FieldErrors, at: str) -> None:
    seen: set[str] = set()
    for index, arm in enumerate(arms):
        if arm.label in seen:
            errors.add(f"{at}arms.{index}.label", f"arm label '{arm.label}' is used twice")
        seen.add(arm.label)
    roles = {arm.role for arm in arms}
    for role in ("intervention", "control"):
        if role not in roles:
            errors.add(at + "arms", f"a study needs at least one {role} arm")
    randomized = sum(arm.n_randomized for arm in arms)
    if randomized != total:
        errors.add(
            at + "total_randomized",
            f"total_randomized is {total} but the arms add up to {randomized}",
        )


def _resolve_arm(
    label: str | None, role: str, arms: Sequence[ArmCreate], errors: FieldErrors, at: str
) -> ArmCreate | None:
    if label is None:
        candidates = [arm for arm in arms if arm.role == role]
        if len(candidates) == 1:
            return candidates[0]
        errors.add(at, f"name the {role} arm: the study has {len(candidates)} of them")
        return None
    arm = next((arm for arm in arms if arm.label == label), None)
    if arm is None:
        errors.add(at, f"no arm is labelled '{label}'")
    elif arm.role != role:
        errors.add(at, f"arm '{label}' is a {arm.role} arm, not a {role} arm")
        return None
    return arm


def _check_result_vocabulary(
    result: OutcomeResultCreate, vocabulary: Vocabulary, errors: FieldErrors, at: str
) -> None:
    if result.outcome not in vocabulary.outcomes:
        message = unknown_slug_message("outcome", result.outcome, vocabulary.outcomes)
        errors.add(at + "outcome", message)
    measured = vocabulary.instrument_outcome.get(result.instrument)
    if measured is None:
        message = unknown_slug_message(
            "instrument",
            result.instrument,
            vocabulary.instrument_outcome,
            vocabulary.abbreviations,
        )
        errors.add(at + "instrument", message)
    elif measured != result.outcome:
        errors.add(
            at + "instrument",
            f"instrument '{result.instrument}' measures {measured}, not {result.outcome}",
        )


def _check_ns(
    result: OutcomeResultCreate, arms: tuple[ArmCreate, ArmCreate], errors: FieldErrors, at: str
) -> None:
    ns = reported_ns(result.data)
    if ns is None:
        return
    for n, arm, path in zip(ns, arms, n_field_paths(result.data), strict=True):
        if n > arm.n_randomized:
            errors.add(
                f"{at}data.{path}",
                f"{n} analysed exceeds the {arm.n_randomized} randomized to '{arm.label}'",
            )


def _check_cluster(result: OutcomeResultCreate, design: str, errors: FieldErrors, at: str) -> None:
    if result.cluster is None:
        return
    if design != CLUSTER_DESIGN:
        errors.add(at + "cluster", f"a cluster design needs the '{CLUSTER_DESIGN}' study design")
    elif result.cluster.reported_accounts_for_clustering and result.data.form in ARM_LEVEL_FORMS:
        errors.add(
            at + "cluster.reported_accounts_for_clustering",
            f"arm summaries ({result.data.form}) cannot account for clustering: leave "
            "reported_accounts_for_clustering false, and the variance is inflated by the "
            "design effect",
        )


def _result_key(result: OutcomeResultCreate, arms: tuple[str, str]) -> tuple[Any, ...]:
    return (result.instrument, result.timepoint.weeks, result.timepoint.label, *arms)


def _check_result(
    result: OutcomeResultCreate,
    study: StudyCreate,
    vocabulary: Vocabulary,
    errors: FieldErrors,
    at: str,
    warnings: list[dict[str, str]],
) -> tuple[str, str] | None:
    """The labels of the result's two arms, or ``None`` when it breaks a rule.

    Plausibility warnings (see :mod:`~service.usecases.studies.plausibility`) go to ``warnings``.
    """
    _check_result_vocabulary(result, vocabulary, errors, at)
    arm1 = _resolve_arm(
        result.intervention_arm, "intervention", study.arms, errors, at + "intervention_arm"
    )
    arm2 = _resolve_arm(result.control_arm, "control", study.arms, errors, at + "control_arm")
    if arm1 is not None and arm2 is not None:
        _check_ns(result, (arm1, arm2), errors, at)
    _check_cluster(result, study.design, errors, at)
    findings = check_result(
        result, vocabulary.scales.get(result.instrument), f"{at}data.{result.data.form}"
    )
    for path, message in findings.errors:
        errors.add(path, message)
    warnings.extend(findings.warnings)
    if errors.items or arm1 is None or arm2 is None:
        return None
    return arm1.label, arm2.label


@dataclass(frozen=True, slots=True)
class _CheckedResult:
    index: int
    result: OutcomeResultCreate
    errors: FieldErrors
    arms: tuple[str, str] | None  # None: it broke a rule, so no effect is derived
    warnings: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class _CheckedStudy:
    study: StudyCreate
    at: str
    errors: FieldErrors
    results: list[_CheckedResult]


def _check_study(study: StudyCreate, vocabulary: Vocabulary, at: str) -> _CheckedStudy:
    errors = FieldErrors()
    _check_slugs(study, vocabulary, errors, at)
    _check_arms(study.arms, study.total_randomized, errors, at)
    results = []
    for index, result in enumerate(study.outcome_results):
        found, warnings = FieldErrors(), list[dict[str, str]]()
        path = f"{at}outcome_results.{index}."
        arms = _check_result(result, study, vocabulary, found, path, warnings)
        results.append(_CheckedResult(index, result, found, arms, warnings))
    return _CheckedStudy(study, at, errors, results)


def _check_repeats(
    results: Iterable[tuple[int, PreparedResult]], errors: FieldErrors, at: str
) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for index, prepared in results:
        key = _result_key(prepared.result, (prepared.intervention_arm, prepared.control_arm))
        if key in seen:
            errors.add(
                f"{at}outcome_results.{index}",
                f"repeats outcome_results.{seen[key]}: same instrument, time point and arms",
            )
        seen.setdefault(key, index)


def prepare_studies(
    studies: Sequence[StudyCreate],
    vocabulary: Vocabulary,
    errors: FieldErrors,
    *,
    at: Sequence[str],
) -> list[PreparedStudy]:
    """Check each study and derive its effect sizes; problems go to ``errors``.

    ``at[i]`` prefixes the field names of ``studies[i]`` (``studies.3.`` in a batch). Every
    study is checked first and the effects of all of them derived together (see
    :func:`~service.usecases.studies.effect_sizes.derive_effects`); problems are listed in the order
    of the fields all the same. The result is only meaningful when ``errors`` stayed empty.
    """
    checked = [_check_study(s, vocabulary, p) for s, p in zip(studies, at, strict=True)]
    requests = [
        EffectRequest(
            r.result.data, vocabulary.higher_is_better[r.result.instrument], r.result.cluster
        )
        for study in checked
        for r in study.results
        if r.arms is not None
    ]
    effects = iter(derive_effects(requests))
    return [_prepared(study, effects, errors) for study in checked]


def _prepared(
    checked: _CheckedStudy, effects: Iterator[DerivedEffect | StatsInputError], errors: FieldErrors
) -> PreparedStudy:
    errors.items += checked.errors.items
    prepared: list[tuple[int, PreparedResult]] = []
    for r in checked.results:
        errors.items += r.errors.items
        if r.arms is None:
            continue
        effect = next(effects)
        if isinstance(effect, StatsInputError):
            at = f"{checked.at}outcome_results.{r.index}.data.{r.result.data.form}"
            errors.add(at, f"no effect size can be derived: {effect}")
        else:
            warnings = tuple(r.warnings)
            prepared.append((r.index, PreparedResult(r.result, *r.arms, effect, warnings)))
    _check_repeats(prepared, errors, checked.at)
    return PreparedStudy(checked.study, tuple(item for _, item in prepared))
