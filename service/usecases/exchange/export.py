"""Answers as data: a pooled answer's studies and the study list as CSV, in two dialects.

``metafor``: ``,`` between cells, ``.`` as decimal mark, empty cells for missing values, the
column names metafor's ``escalc`` uses (``yi``, ``vi``, ``m1i``...), as R's ``write.csv``
writes. ``metapsy``: the Metapsy data standard's conventions, ``;``, decimal commas, ``NA``,
and its column names where it has one (``time_weeks``, ``condition_arm2``, ``mean_arm1``...).
Numbers are written with 17 significant digits, so that they read back to the same double.
Text cells that a spreadsheet would evaluate as a formula are quote-prefixed (:mod:`.formulas`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from service.schemas.pooled import PooledRead, PooledStudyRead
from service.schemas.reported import MeansData
from service.schemas.studies import OutcomeResultRead, StudyRead
from service.usecases.exchange.formulas import neutralise
from service.usecases.pooled.selection import study_label

Dialect = Literal["metafor", "metapsy"]
POOLED_COLUMNS = (
    "study_id", "study", "year", "category", "design", "comparator", "quality",
    "timepoint", "weeks", "instruments", "n", "yi", "vi", "weight", "data_warnings",
)  # fmt: skip
STUDY_COLUMNS = (
    "study_id", "study", "year", "authors", "title", "doi", "registration_id", "country",
    "design", "category", "comparator", "quality", "population", "intervention", "status",
    "outcome", "instrument", "timepoint", "weeks", "arm1", "nrand1", "arm2", "nrand2",
    "form", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "reported", "yi", "vi",
)  # fmt: skip
# Our column -> the Metapsy data standard's name, where it has one.
METAPSY_NAMES = {
    "comparator": "condition_arm2",
    "timepoint": "time",
    "weeks": "time_weeks",
    "instruments": "instrument",
    "arm1": "condition_arm1",
    "m1i": "mean_arm1",
    "sd1i": "sd_arm1",
    "n1i": "n_arm1",
    "m2i": "mean_arm2",
    "sd2i": "sd_arm2",
    "n2i": "n_arm2",
    "yi": ".g",
}


def _cell(value: Any, dialect: Dialect) -> str:
    if value is None:
        return "NA" if dialect == "metapsy" else ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        text = repr(value)  # the shortest text that reads back to the same double
        return text.replace(".", ",") if dialect == "metapsy" else text
    if isinstance(value, int):
        return str(value)
    return neutralise(str(value))  # text: never a formula in a spreadsheet


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]], dialect: Dialect) -> str:
    """``rows`` under ``columns`` (renamed for the Metapsy dialect), as the dialect writes."""
    out = io.StringIO()
    # CRLF between records (RFC 4180, 2.1): then a carriage return inside a cell is quoted too,
    # which with "\n" alone it is not, and a reader would end the record there.
    writer = csv.writer(out, delimiter=";" if dialect == "metapsy" else ",", lineterminator="\r\n")
    names = [METAPSY_NAMES.get(c, c) if dialect == "metapsy" else c for c in columns]
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(row.get(column), dialect) for column in columns])
    return out.getvalue()


def _warnings(study: PooledStudyRead, answer: PooledRead) -> str | None:
    if len(study.instruments) < 2:
        return None
    correlation = answer.combination.assumed_correlation
    return f"mean of {len(study.instruments)} instruments (assumed correlation {correlation:g})"


def pooled_rows(answer: PooledRead) -> list[dict[str, Any]]:
    """One row per study the answer used, with its single effect and weight."""
    return [
        {
            "study_id": s.study_id,
            "study": s.label,
            "year": s.year,
            "category": s.category,
            "design": s.design,
            "comparator": s.comparator,
            "quality": s.quality,
            "timepoint": s.timepoint_label,
            "weeks": s.timepoint_weeks,
            "instruments": " + ".join(s.instruments),
            "n": s.participants,
            "yi": s.yi,
            "vi": s.vi,
            "weight": s.weight,
            "data_warnings": _warnings(s, answer),
        }
        for s in answer.studies
    ]


def pooled_csv(answer: PooledRead, dialect: Dialect) -> str:
    """A pooled answer's studies as CSV."""
    return write_csv(POOLED_COLUMNS, pooled_rows(answer), dialect)


def _means(result: OutcomeResultRead) -> dict[str, Any]:
    data = result.data
    if not isinstance(data, MeansData):
        return {}
    return {
        "m1i": data.intervention.mean,
        "sd1i": data.intervention.sd,
        "n1i": data.intervention.n,
        "m2i": data.control.mean,
        "sd2i": data.control.sd,
        "n2i": data.control.n,
    }


def _result_row(study: StudyRead, result: OutcomeResultRead) -> dict[str, Any]:
    randomized = {arm.label: arm.n_randomized for arm in study.arms}
    return {
        "study_id": study.id,
        "study": study_label(study.authors, study.year, study.id),
        "year": study.year,
        "authors": study.authors,
        "title": study.title,
        "doi": study.doi,
        "registration_id": study.registration_id,
        "country": study.country,
        "design": study.design,
        "category": study.category,
        "comparator": study.comparator,
        "quality": study.quality_rating,
        "population": study.population,
        "intervention": study.intervention_name,
        "status": study.status,
        "outcome": result.outcome,
        "instrument": result.instrument,
        "timepoint": result.timepoint.label,
        "weeks": result.timepoint.weeks,
        "arm1": result.intervention_arm,
        "nrand1": randomized.get(result.intervention_arm),
        "arm2": result.control_arm,
        "nrand2": randomized.get(result.control_arm),
        "form": result.data.form,
        **_means(result),
        "reported": json.dumps(result.data.model_dump(mode="json"), separators=(",", ":")),
        "yi": result.effect.yi,
        "vi": result.effect.vi,
    }


def studies_csv(studies: Iterable[StudyRead], dialect: Dialect) -> str:
    """Studies as CSV, one row per outcome result, the data as reported beside the effect."""
    rows = (_result_row(study, result) for study in studies for result in study.outcome_results)
    return write_csv(STUDY_COLUMNS, rows, dialect)
