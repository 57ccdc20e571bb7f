"""A ClinicalTrials.gov results section as a study draft (issue 28).

The record layout is https://clinicaltrials.gov/data-api/about-api/study-data-structure.
Outcome measures (``resultsSection.outcomeMeasuresModule``) whose title or description names an
instrument of the service's vocabulary (its name, or an abbreviation of three letters or more)
become outcome results when their two groups are the trial's experimental and control arms
(``armGroups`` types) and they give group means with ``STANDARD_DEVIATION`` or
``STANDARD_ERROR`` (``paramType`` MEAN), or counts of participants (dichotomous). Arm sizes come
from the baseline characteristics (``baselineCharacteristicsModule.denoms``), else the largest
outcome denominator; the time frame's last duration gives the weeks. Design, category and
comparator are read or guessed from the protocol; the quality rating is left to the curator, so
a draft is never a complete study by itself. Everything that cannot be mapped is a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_WEEKS = {"day": 1 / 7, "week": 1.0, "month": 52 / 12, "year": 52.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(day|week|month|year)s?", re.IGNORECASE)
CONTROL_TYPES = {
    "NO_INTERVENTION": "treatment-as-usual",
    "ACTIVE_COMPARATOR": "active-control",
    "PLACEBO_COMPARATOR": "active-control",
    "SHAM_COMPARATOR": "active-control",
}
DESIGNS = {"RANDOMIZED": "randomized", "NON_RANDOMIZED": "non-randomized-controlled"}


@dataclass(frozen=True, slots=True)
class Instrument:
    slug: str
    name: str
    abbreviation: str | None
    outcome: str


def get_path(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def officials(protocol: Mapping[str, Any]) -> str | None:
    officials = get_path(protocol, "contactsLocationsModule", "overallOfficials") or []
    names = [str(o["name"]) for o in officials if isinstance(o, Mapping) and o.get("name")]
    sponsor = get_path(protocol, "sponsorCollaboratorsModule", "leadSponsor", "name")
    return ", ".join(names) or (str(sponsor) if sponsor else None)


def year_of(text: Any) -> int | None:
    if isinstance(text, str) and re.match(r"^\d{4}", text):
        return int(text[:4])
    return None


def draft(
    study: Mapping[str, Any], instruments: Sequence[Instrument], warnings: list[str]
) -> dict[str, Any]:
    """A study body from the results section, as far as the registry goes (module docstring)."""
    protocol = get_path(study, "protocolSection") or {}
    arms = _arm_roles(protocol, warnings)
    results: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    for measure in (
        get_path(study, "resultsSection", "outcomeMeasuresModule", "outcomeMeasures") or []
    ):
        mapped = _result(measure, instruments, arms, warnings)
        if mapped is not None:
            result, ns = mapped
            results.append(result)
            for label, n in ns.items():
                sizes[label] = max(sizes.get(label, 0), n)
    if not results:
        warnings.append("no outcome measure names an instrument of the vocabulary with usable data")
    sizes.update(_baseline_sizes(study, arms))
    total = sum(sizes.get(label, 0) for label in arms)
    enrolled = get_path(protocol, "designModule", "enrollmentInfo", "count")
    if enrolled != total:
        warnings.append(f"the arms add up to {total}, the registry's enrollment is {enrolled}")
    text = json.dumps(get_path(protocol, "armsInterventionsModule") or {})
    nct = get_path(protocol, "identificationModule", "nctId")
    body: dict[str, Any] = {
        "title": get_path(protocol, "identificationModule", "officialTitle")
        or get_path(protocol, "identificationModule", "briefTitle"),
        "authors": officials(protocol),
        "year": year_of(get_path(protocol, "statusModule", "resultsFirstPostDateStruct", "date"))
        or year_of(get_path(protocol, "statusModule", "completionDateStruct", "date")),
        "registration_id": nct,
        "country": _country(protocol),
        "design": DESIGNS.get(
            str(get_path(protocol, "designModule", "designInfo", "allocation")),
            "single-group-pre-post",
        ),
        "category": _category(text),
        "intervention_name": _intervention(protocol),
        "comparator": _comparator(protocol),
        "population": ", ".join(get_path(protocol, "conditionsModule", "conditions") or []) or None,
        "total_randomized": total,
        "source": {
            "extracted_by": "lma watch (ClinicalTrials.gov results)",
            "document": f"ClinicalTrials.gov {nct} results section",
            "location": "resultsSection.outcomeMeasuresModule",
        },
        "arms": [
            {"label": label[:100], "role": role, "n_randomized": sizes.get(label, 0)}
            for label, role in arms.items()
        ],
        "outcome_results": results,
    }
    warnings.append(
        "category and comparator are guessed from the registry text; "
        "the quality rating is left to the curator"
    )
    return {k: v for k, v in body.items() if v is not None}


def _arm_roles(protocol: Mapping[str, Any], warnings: list[str]) -> dict[str, str]:
    groups = get_path(protocol, "armsInterventionsModule", "armGroups") or []
    roles = {}
    for group in groups:
        if isinstance(group, Mapping) and group.get("label"):
            roles[str(group["label"])] = (
                "intervention" if group.get("type") == "EXPERIMENTAL" else "control"
            )
    if list(roles.values()).count("intervention") != 1 or len(roles) != 2:
        warnings.append(
            "the trial does not have one experimental and one control arm; arms need checking"
        )
    return roles


def _baseline_sizes(study: Mapping[str, Any], arms: Mapping[str, str]) -> dict[str, int]:
    """Arm sizes from the baseline characteristics (participants analysed at baseline)."""
    module = get_path(study, "resultsSection", "baselineCharacteristicsModule") or {}
    titles = {
        str(g.get("id")): str(g.get("title"))
        for g in module.get("groups") or []
        if isinstance(g, Mapping)
    }
    counts = _denominators(module)
    return {titles[gid]: n for gid, n in counts.items() if titles.get(gid) in arms}


def _country(protocol: Mapping[str, Any]) -> str | None:
    for location in get_path(protocol, "contactsLocationsModule", "locations") or []:
        if isinstance(location, Mapping) and location.get("country"):
            return str(location["country"])
    return None


def _category(text: str) -> str:
    lowered = text.lower()
    if "peer-run" in lowered or "peer run" in lowered or "consumer-operated" in lowered:
        return "peer-run-service"
    return "peer-group" if "group" in lowered else "one-to-one"


def _intervention(protocol: Mapping[str, Any]) -> str | None:
    for item in get_path(protocol, "armsInterventionsModule", "interventions") or []:
        if isinstance(item, Mapping) and item.get("name"):
            return str(item["name"])[:300]
    return None


def _comparator(protocol: Mapping[str, Any]) -> str:
    for group in get_path(protocol, "armsInterventionsModule", "armGroups") or []:
        if not isinstance(group, Mapping) or group.get("type") == "EXPERIMENTAL":
            continue
        if "wait" in str(group.get("label", "")).lower():
            return "waiting-list"
        return CONTROL_TYPES.get(str(group.get("type")), "other")
    return "other"


def _instrument(measure: Mapping[str, Any], instruments: Sequence[Instrument]) -> Instrument | None:
    text = f" {measure.get('title') or ''} {measure.get('description') or ''} ".lower()
    for instrument in sorted(instruments, key=lambda i: -len(i.name)):
        if instrument.name.lower() in text:
            return instrument
        abbreviation = (instrument.abbreviation or "").lower()
        if len(abbreviation) >= 3 and re.search(rf"\b{re.escape(abbreviation)}\b", text):
            return instrument
    return None


def weeks(time_frame: Any) -> float | None:
    """``"12 weeks"`` -> 12, ``"6 months"`` -> 26 (the last duration named)."""
    found = _DURATION.findall(str(time_frame or ""))
    if not found:
        return None
    number, unit = found[-1]
    return round(float(number) * _WEEKS[unit.lower()], 2)


def _result(
    measure: Any, instruments: Sequence[Instrument], arms: Mapping[str, str], warnings: list[str]
) -> tuple[dict[str, Any], dict[str, int]] | None:
    if not isinstance(measure, Mapping):
        return None
    instrument = _instrument(measure, instruments)
    if instrument is None:
        return None
    title = str(measure.get("title"))[:80]
    groups = {
        str(g.get("id")): str(g.get("title"))
        for g in measure.get("groups") or []
        if isinstance(g, Mapping)
    }
    ns = _denominators(measure)
    values = _measurements(measure)
    by_role: dict[str, tuple[str, str]] = {}
    for group_id, label in groups.items():
        role = arms.get(label)
        if role and role not in by_role:
            by_role[role] = (group_id, label)
    if set(by_role) != {"intervention", "control"}:
        warnings.append(f"outcome '{title}': its groups are not the trial's two arms")
        return None
    data = _data(measure, by_role, values, ns)
    if data is None:
        warnings.append(
            f"outcome '{title}': {measure.get('paramType')} with "
            f"{measure.get('dispersionType')} is not a form the bot maps"
        )
        return None
    time = weeks(measure.get("timeFrame"))
    if time is None:
        warnings.append(f"outcome '{title}': no time frame in weeks, months or years")
        return None
    result = {
        "outcome": instrument.outcome,
        "instrument": instrument.slug,
        "timepoint": {"weeks": time, "label": "post"},
        "intervention_arm": by_role["intervention"][1][:100],
        "control_arm": by_role["control"][1][:100],
        "data": data,
        "source_location": f"outcome measure: {title}",
    }
    sizes = {label: ns[gid] for gid, label in by_role.values() if gid in ns}
    return result, sizes


def _denominators(measure: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for denom in measure.get("denoms") or []:
        for count in (denom.get("counts") or []) if isinstance(denom, Mapping) else []:
            try:
                out[str(count["groupId"])] = int(count["value"])
            except (KeyError, TypeError, ValueError):
                continue
    return out


def _measurements(measure: Mapping[str, Any]) -> dict[str, tuple[float, float | None]]:
    out: dict[str, tuple[float, float | None]] = {}
    for klass in measure.get("classes") or []:
        for category in (klass.get("categories") or []) if isinstance(klass, Mapping) else []:
            for item in (
                (category.get("measurements") or []) if isinstance(category, Mapping) else []
            ):
                try:
                    spread = item.get("spread")
                    out.setdefault(
                        str(item["groupId"]),
                        (float(item["value"]), float(spread) if spread is not None else None),
                    )
                except (KeyError, TypeError, ValueError):
                    continue
    return out


def _data(
    measure: Mapping[str, Any],
    by_role: Mapping[str, tuple[str, str]],
    values: Mapping[str, tuple[float, float | None]],
    ns: Mapping[str, int],
) -> dict[str, Any] | None:
    ids = {role: gid for role, (gid, _) in by_role.items()}
    if any(ids[r] not in values or ids[r] not in ns for r in ids):
        return None
    param, dispersion = measure.get("paramType"), measure.get("dispersionType")
    if param == "COUNT_OF_PARTICIPANTS":
        arm = {r: {"events": int(values[ids[r]][0]), "total": ns[ids[r]]} for r in ids}
        return {"form": "dichotomous", **arm}
    kind = {"STANDARD_DEVIATION": ("means", "sd"), "STANDARD_ERROR": ("means_se", "se")}.get(
        str(dispersion)
    )
    if param != "MEAN" or kind is None or any(values[ids[r]][1] is None for r in ids):
        return None
    form, spread = kind
    arms = {r: {"mean": values[ids[r]][0], spread: values[ids[r]][1], "n": ns[ids[r]]} for r in ids}
    return {"form": form, **arms}
