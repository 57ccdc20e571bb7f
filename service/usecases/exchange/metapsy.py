"""The Metapsy data standard: one row per comparison, outcome, instrument and time point.

Rules (https://docs.metapsy.org/data-preparation/format/ and the file's variables.json):

1. rows are grouped into studies by ``study`` and ``year``; the study's source id is
   ``"<study> (<year>)"``, stored so that importing the file again finds the study;
2. rows whose ``outcome_subcategory`` is not one of the review's outcomes are skipped and
   counted by subcategory; for the others the instrument decides the outcome (the vocabulary
   knows what each instrument measures), and an instrument the vocabulary does not know is a
   problem unless a map names its slug;
3. arms come from ``condition_arm1/2``, or ``multi_arm1/2`` in multi-arm trials; arm 1 is the
   peer-support (intervention) arm; an arm's size is the largest n reported for it;
4. the effect data are taken in Metapsy's own order of preference: means and SDs, then change
   scores, then the precalculated ``precalc_g`` with ``precalc_g_se`` (which Metapsy computes as
   arm 1 minus arm 2 in the instrument's direction). Dichotomous rows (``dich``) are skipped;
   the file's derived ``.g`` and ``.g_se`` are never read: effects are computed again;
5. RoB 2 judgements (``RoB_D1``..``RoB_D5``, ``overall_RoB``) become each result's RoB 2
   assessment (``Low risk`` -> low, ``Some concerns`` -> some_concerns, ``High risk`` -> high;
   Metapsy assesses per row, i.e. per outcome and time point, as RoB 2 does). The overall
   judgement is the RoB 2 algorithm's; where the file says ``High risk`` and the domains give
   some concerns in two or more of them, the assessment is raised to high (the RoB 2 guidance
   allows it) with the reason "Metapsy overall_RoB"; any other difference is kept as
   ``reported_overall``. A row with a domain missing has no assessment. The judgements are also
   kept in the study's quality appraisal, and ``overall_RoB`` gives the quality rating by the
   ``METAPSY_ROB_QUALITY`` setting (by default low risk = strong, some concerns = moderate,
   high risk = weak), which certainty reads only for results without an assessment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.stats import risk_of_bias as rob
from service.usecases.exchange.candidates import Candidate, ParsedFile
from service.usecases.exchange.tabular import Row, Table, parse_number

SOURCE = "metapsy"
DEFAULT_DOCUMENT = "Metapsy peer-support database (Metapsy data standard)"
# outcome_subcategory values (lower case) that hold the review's outcomes.
REVIEWED_SUBCATEGORIES = frozenset(
    {"empowerment/self-efficacy", "empowerment", "self-efficacy", "internalized stigma", "stigma"}
)
# Metapsy instrument names -> vocabulary slugs (extend with a map file: ``--map``).
INSTRUMENTS = {
    "Boston Empowerment Scale": "boston-empowerment-scale",
    "Dutch Empowerment Scale": "dutch-empowerment-scale",
    "Empowerment Scale": "empowerment-scale",
    "Empowerment Scale -Power-powerlessness subscale": "empowerment-scale-power",
    "Mental Health Confidence Scale -total score": "mental-health-confidence-scale",
    "General Self-Efficacy Scale (GSE)": "general-self-efficacy-scale",
    "ISMI": "ismi",
    "ISMI-10": "ismi-10",
    "Self-Stigma of Mental Illness Scale": "self-stigma-of-mental-illness-scale",
}
CATEGORIES = {"group": "peer-group", "individual": "one-to-one"}
COMPARATORS = {
    "cau": "treatment-as-usual",
    "wl": "waiting-list",
    "other": "other",
    "pha": "active-control",
    "plac": "active-control",
}
TIMEPOINTS = {"post": "post", "fu": "follow-up", "follow-up": "follow-up", "followup": "follow-up"}
ROB_DOMAINS = (
    ("RoB_D1", "D1 randomization"),
    ("RoB_D2", "D2 deviations from intended interventions"),
    ("RoB_D3", "D3 missing outcome data"),
    ("RoB_D4", "D4 measurement of the outcome"),
    ("RoB_D5", "D5 selection of the reported result"),
    ("overall_RoB", "overall"),
)
ROB_JUDGEMENTS = {"low risk": "low", "some concerns": "some_concerns", "high risk": "high"}
RAISED_BY_METAPSY = "Metapsy overall_RoB"
STUDY_COLUMNS = {
    "title": "study",
    "authors": "study",
    "year": "year",
    "country": "country",
    "category": "format",
    "comparator": "condition_arm2",
    "population": "disorder",
    "quality_rating": "overall_RoB",
    "total_randomized": "n_arm1",
    "arms": "condition_arm1",
    "arms.0.n_randomized": "n_arm1",
    "arms.1.n_randomized": "n_arm2",
}
_ARM_COLUMNS = {
    "means": {"mean": "mean_arm{}", "sd": "sd_arm{}", "n": "n_arm{}"},
    "change_scores": {
        "mean_change": "mean_change_arm{}",
        "sd_change": "sd_change_arm{}",
        "n": "n_change_arm{}",
    },
}
_NO_DATA = (
    "give mean_arm1/2, sd_arm1/2 and n_arm1/2, or the change-score columns, or precalc_g "
    "with precalc_g_se"
)


@dataclass(frozen=True, slots=True)
class MetapsyOptions:
    """What the vocabulary and settings say about the file's terms."""

    instrument_outcome: Mapping[str, str]
    instruments: Mapping[str, str]
    rob_quality: Mapping[str, str]
    document: str = DEFAULT_DOCUMENT


def parse_metapsy(table: Table, options: MetapsyOptions) -> ParsedFile:
    """Candidate studies of a Metapsy file (rules in the module docstring)."""
    parsed = ParsedFile(rows=len(table.rows))
    groups: dict[str, list[Row]] = {}
    for row in table.rows:
        if _kept(row, parsed):
            key = f"{row.text('study')} ({row.text('year')})"
            groups.setdefault(key, []).append(row)
    reader = _Reader(table, options, parsed)
    for key, rows in groups.items():
        candidate = reader.study(key, rows)
        if candidate is not None:
            parsed.candidates.append(candidate)
    return parsed


def _kept(row: Row, parsed: ParsedFile) -> bool:
    subcategory = row.text("outcome_subcategory") or "(none)"
    if subcategory.lower() not in REVIEWED_SUBCATEGORIES:
        parsed.skipped[f"outcome not in the review: {subcategory}"] += 1
        return False
    # outcome_type, not the event columns: in the published file some msd rows carry event
    # counts and a "dich" definition that belong to other rows.
    if (row.text("outcome_type") or "").lower() == "dich":
        parsed.skipped["dichotomous outcome (the review pools continuous outcomes)"] += 1
        return False
    if row.text("study") is None or row.text("year") is None:
        parsed.problem(row, "study", "the row names no study or year", "fill in study and year")
        return False
    return True


class _Reader:
    """Builds one candidate per study, recording problems in ``parsed``."""

    def __init__(self, table: Table, options: MetapsyOptions, parsed: ParsedFile) -> None:
        self._comma = table.decimal_comma
        self._options = options
        self._parsed = parsed

    def number(self, row: Row, column: str) -> float | None:
        text = row.text(column)
        if text is None:
            return None
        try:
            return parse_number(text, decimal_comma=self._comma)
        except ValueError:
            decimal = "a decimal comma" if self._comma else "a decimal point"
            self._parsed.problem(row, column, "not a number", f"write a number with {decimal}")
            return None

    def count(self, row: Row, column: str) -> int | None:
        value = self.number(row, column)
        if value is None:
            return None
        if value != int(value):
            self._parsed.problem(row, column, "not a whole number", "give the number of people")
            return None
        return int(value)

    def study(self, key: str, rows: list[Row]) -> Candidate | None:
        first = rows[0]
        candidate = Candidate(key, {}, first, study_columns=dict(STUDY_COLUMNS))
        arm_n: dict[str, int] = {}
        arm_labels = self._arm_labels(first)
        for row in rows:
            result = self.result(row, arm_labels, arm_n, candidate)
            if result is not None:
                candidate.body.setdefault("outcome_results", []).append(result)
        if not candidate.result_rows:
            return None
        arms = self._arms(first, arm_labels, arm_n)
        if arms is None:
            return None
        candidate.body.update(self.fields(first, key, rows))
        candidate.body.update(arms)
        return candidate

    def _arm_labels(self, row: Row) -> tuple[str, str]:
        arm1 = row.text("multi_arm1") or row.text("condition_arm1") or "Peer support"
        arm2 = row.text("multi_arm2") or row.text("condition_arm2") or "Control"
        if arm1 == arm2:
            arm2 = f"{arm2} (control)"
        return arm1[:100], arm2[:100]

    def _arms(
        self, row: Row, labels: tuple[str, str], arm_n: dict[str, int]
    ) -> dict[str, Any] | None:
        if len(arm_n) < 2:
            self._parsed.problem(
                row, "n_arm1", "no arm sizes are given", "give n_arm1 and n_arm2 (or n_change_*)"
            )
            return None
        arms = [
            {"label": labels[0], "role": "intervention", "n_randomized": arm_n.get(labels[0], 0)},
            {"label": labels[1], "role": "control", "n_randomized": arm_n.get(labels[1], 0)},
        ]
        return {"arms": arms, "total_randomized": sum(arm["n_randomized"] for arm in arms)}

    def fields(self, row: Row, key: str, rows: list[Row]) -> dict[str, Any]:
        name = row.text("study") or key
        year = self.count(row, "year")
        return {
            "title": f"{name}: peer support trial (Metapsy)",
            "authors": name.split(",")[0].strip(),
            "year": year if year is not None else 0,
            "country": row.text("country"),
            "design": "randomized",
            "category": self._term(row, "format", CATEGORIES),
            "intervention_name": row.text("condition_arm1") or "Peer support",
            "intervention_description": _joined(row, ("delivery", "structure_intervention")),
            "comparator": self._term(row, "condition_arm2", COMPARATORS),
            "population": _joined(row, ("disorder", "diagnosis_inclusion", "recruitment"))
            or "Not reported in the Metapsy database",
            "quality_rating": self._quality(row),
            "quality_appraisal": _appraisal(row),
            "source": {
                "extracted_by": "metapsy",
                "document": self._options.document,
                "location": "rows " + ", ".join(str(r.number) for r in rows),
            },
        }

    def _term(self, row: Row, column: str, terms: Mapping[str, str]) -> str:
        text = row.text(column) or ""
        slug = terms.get(text.lower())
        if slug is None:
            known = ", ".join(sorted(terms))
            self._parsed.problem(row, column, f"unknown value '{text}'", f"use one of: {known}")
            return "unknown"
        return slug

    def _quality(self, row: Row) -> str:
        text = row.text("overall_RoB") or ""
        rating = self._options.rob_quality.get(text)
        if rating is None:
            known = ", ".join(self._options.rob_quality)
            self._parsed.problem(
                row,
                "overall_RoB",
                f"no quality rating for the RoB 2 judgement '{text}'",
                f"use one of: {known} (or extend the METAPSY_ROB_QUALITY setting)",
            )
            return "unknown"
        return rating

    def result(
        self, row: Row, arms: tuple[str, str], arm_n: dict[str, int], candidate: Candidate
    ) -> dict[str, Any] | None:
        instrument = self._instrument(row)
        timepoint = self._timepoint(row)
        found = self._data(row)
        if instrument is None or timepoint is None or found is None:
            return None
        data, columns, ns = found
        for label, n in zip(arms, ns, strict=True):
            if n is not None:
                arm_n[label] = max(arm_n.get(label, 0), n)
        columns.update({"instrument": "instrument", "outcome": "instrument"})
        columns.update({"timepoint.weeks": "time_weeks", "timepoint.label": "time"})
        candidate.result_rows.append(row)
        candidate.result_columns.append(columns)
        return {
            "outcome": self._options.instrument_outcome[instrument],
            "instrument": instrument,
            "timepoint": timepoint,
            "intervention_arm": arms[0],
            "control_arm": arms[1],
            "data": data,
            "source_location": f"Metapsy row {row.number}",
            "risk_of_bias": rob2_of_row(row),
        }

    def _instrument(self, row: Row) -> str | None:
        name = row.text("instrument") or ""
        slug = self._options.instruments.get(name)
        if slug is None or slug not in self._options.instrument_outcome:
            problem = (
                f"instrument '{name}' is not in the vocabulary"
                if slug is None
                else f"the map names instrument '{slug}', which the vocabulary does not know"
            )
            self._parsed.problem(
                row,
                "instrument",
                problem,
                "map it to an instrument slug of GET /v1/instruments with a map file "
                "(lma import-data metapsy FILE --map MAP.json)",
            )
            return None
        return slug

    def _timepoint(self, row: Row) -> dict[str, Any] | None:
        label = TIMEPOINTS.get((row.text("time") or "").lower())
        if label is None:
            self._parsed.problem(
                row, "time", f"unknown time point '{row.text('time')}'", "use post or fu"
            )
        weeks = self.number(row, "time_weeks")
        if weeks is None and row.text("time_weeks") is None:
            self._parsed.problem(
                row, "time_weeks", "the time point has no weeks", "give weeks since randomization"
            )
        if label is None or weeks is None:
            return None
        return {"weeks": weeks, "label": label}

    def _data(
        self, row: Row
    ) -> tuple[dict[str, Any], dict[str, str], tuple[int | None, int | None]] | None:
        for form in ("means", "change_scores"):
            arms = [self._arm(row, form, arm) for arm in (1, 2)]
            if arms[0] is not None and arms[1] is not None:
                columns = {
                    f"data.{form}.{role}.{name}": pattern.format(arm)
                    for role, arm in (("intervention", 1), ("control", 2))
                    for name, pattern in _ARM_COLUMNS[form].items()
                }
                data = {"form": form, "intervention": arms[0], "control": arms[1]}
                return data, columns, (arms[0]["n"], arms[1]["n"])
        g, se = self.number(row, "precalc_g"), self.number(row, "precalc_g_se")
        if g is not None and se is not None:
            # Metapsy's g is arm 1 minus arm 2 in the instrument's own direction.
            effect: dict[str, Any] = {"form": "effect_se", "effect": g, "se": se}
            effect["positive_favours_intervention"] = False
            columns = {"data.effect_se.effect": "precalc_g", "data.effect_se.se": "precalc_g_se"}
            return effect, columns, (self.count(row, "n_arm1"), self.count(row, "n_arm2"))
        self._parsed.problem(row, "mean_arm1", "the row has no usable effect data", _NO_DATA)
        return None

    def _arm(self, row: Row, form: str, arm: int) -> dict[str, Any] | None:
        columns = _ARM_COLUMNS[form]
        if any(row.text(pattern.format(arm)) is None for pattern in columns.values()):
            return None
        values: dict[str, Any] = {
            name: self.number(row, pattern.format(arm)) for name, pattern in columns.items()
        }
        values["n"] = self.count(row, columns["n"].format(arm))
        return values if None not in values.values() else None


def _joined(row: Row, columns: tuple[str, ...]) -> str | None:
    parts = [text for column in columns if (text := row.text(column))]
    return ", ".join(parts) or None


def _appraisal(row: Row) -> str | None:
    judgements = [f"{name}: {row.text(column)}" for column, name in ROB_DOMAINS if row.text(column)]
    return "RoB 2 (Metapsy): " + "; ".join(judgements) if judgements else None


def rob2_of_row(row: Row) -> dict[str, Any] | None:
    """The row's RoB 2 assessment (rule 5), or None when a domain is missing or unknown."""
    domains: dict[str, dict[str, Any]] = {}
    for column, name in ROB_DOMAINS[:5]:
        judgement = ROB_JUDGEMENTS.get((row.text(column) or "").lower())
        if judgement is None:
            return None
        domains[name.split()[0]] = {"judgement": judgement, "support": f"Metapsy {column}"}
    judgements = {code: d["judgement"] for code, d in domains.items()}
    algorithm = rob.rob2_overall(judgements).judgement
    reported = ROB_JUDGEMENTS.get((row.text("overall_RoB") or "").lower())
    raise_to_high = (
        reported == "high"
        and algorithm == "some_concerns"
        and list(judgements.values()).count("some_concerns") >= 2
    )
    return {
        "tool": "rob2",
        "effect_of_interest": "assignment",
        "domains": domains,
        "raised_to_high": RAISED_BY_METAPSY if raise_to_high else None,
        "reported_overall": reported
        if reported not in (None, algorithm) and not raise_to_high
        else None,
    }
