"""The ClinicalTrials.gov API v2 watcher: new and updated registrations, and posted results.

``GET {base}/api/v2/studies`` (https://clinicaltrials.gov/data-api/api) with ``query.intr``
(the intervention), ``query.cond`` and ``query.term``; the window is ``filter.advanced=
AREA[LastUpdatePostDate]RANGE[start,end]`` (Essie search areas, https://clinicaltrials.gov/
find-studies/constructing-complex-search-queries); pages of ``pageSize`` studies follow
``nextPageToken`` as ``pageToken``. Each study becomes a candidate (the record layout is
https://clinicaltrials.gov/data-api/about-api/study-data-structure): ``protocolSection``
gives the ids, titles, status and expected completion; ``hasResults`` and ``resultsSection``
the results. Outcome measures whose title names an instrument of the service's vocabulary,
with group means and SD or SE (``paramType`` MEAN, ``dispersionType`` STANDARD_DEVIATION or
STANDARD_ERROR) or counts of participants, become the outcome results of a study draft that
a curator completes (the quality rating is always theirs to give). Anything missing or odd
is a warning on the candidate, never a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from service.bots.polite import Polite

PAGE_SIZE = 100
SOURCE = "ctgov"
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
class Query:
    """What to search: ``query.intr``, ``query.cond``, ``query.term`` (empty: left out)."""

    intervention: str = "peer support"
    condition: str = ""
    term: str = ""

    def text(self) -> str:
        """The query as the service's search run records it."""
        parts = [("intr", self.intervention), ("cond", self.condition), ("term", self.term)]
        return " ".join(f"{name}={value!r}" for name, value in parts if value)


@dataclass(frozen=True, slots=True)
class Instrument:
    slug: str
    name: str
    abbreviation: str | None
    outcome: str


def search(
    http: Polite, base: str, query: Query, since: date | None, until: date
) -> Iterator[dict[str, Any]]:
    """Every study updated in ``[since, until]`` (``since`` None: from the start), page by page."""
    start = since.isoformat() if since else "MIN"
    params: dict[str, Any] = {
        "filter.advanced": f"AREA[LastUpdatePostDate]RANGE[{start},{until.isoformat()}]",
        "pageSize": PAGE_SIZE,
        "format": "json",
    }
    for name, value in (
        ("query.intr", query.intervention),
        ("query.cond", query.condition),
        ("query.term", query.term),
    ):
        if value:
            params[name] = value
    token: str | None = None
    while True:
        page = http.get(
            f"{base}/api/v2/studies",
            {**params, **({"pageToken": token} if token else {})},
            _json_page,
        )
        yield from page.get("studies") or []
        token = page.get("nextPageToken")
        if not token:
            return


def _json_page(response: httpx.Response) -> dict[str, Any]:
    page = response.json()  # ValueError when truncated: retried
    if not isinstance(page, dict) or not isinstance(page.get("studies", []), list):
        raise ValueError("not a page of studies")
    return page


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def candidate(study: Mapping[str, Any], instruments: Sequence[Instrument]) -> dict[str, Any]:
    """The candidate body of one study (``POST /v1/search-runs/{id}/candidates``)."""
    warnings: list[str] = []
    protocol = _get(study, "protocolSection") or {}
    ident = _get(protocol, "identificationModule") or {}
    status = _get(protocol, "statusModule") or {}
    nct = ident.get("nctId")
    if not nct:
        warnings.append("the registry record has no nctId")
    title = ident.get("officialTitle") or ident.get("briefTitle")
    completion = _get(status, "completionDateStruct", "date") or _get(
        status, "primaryCompletionDateStruct", "date"
    )
    has_results = bool(study.get("hasResults")) and isinstance(study.get("resultsSection"), Mapping)
    body: dict[str, Any] = {
        "nct_id": nct,
        "pmid": _result_pmid(protocol),
        "title": title,
        "authors": _officials(protocol),
        "year": _year(_get(status, "startDateStruct", "date")),
        "abstract": _get(protocol, "descriptionModule", "briefSummary"),
        "publication_types": [
            t for t in (_get(protocol, "designModule", "studyType"),) if isinstance(t, str)
        ],
        "registry_status": status.get("overallStatus"),
        "completion_date": completion if isinstance(completion, str) else None,
        "has_results": has_results,
        "warnings": warnings,
    }
    if has_results:
        body["draft"] = draft(study, instruments, warnings)
    return body


def _result_pmid(protocol: Mapping[str, Any]) -> str | None:
    """The PMID of the trial's results publication (``referencesModule``, type RESULT)."""
    for reference in _get(protocol, "referencesModule", "references") or []:
        if isinstance(reference, Mapping) and reference.get("type") == "RESULT":
            pmid = reference.get("pmid")
            return str(pmid) if pmid else None
    return None


def _officials(protocol: Mapping[str, Any]) -> str | None:
    officials = _get(protocol, "contactsLocationsModule", "overallOfficials") or []
    names = [str(o["name"]) for o in officials if isinstance(o, Mapping) and o.get("name")]
    sponsor = _get(protocol, "sponsorCollaboratorsModule", "leadSponsor", "name")
    return ", ".join(names) or (str(sponsor) if sponsor else None)


def _year(text: Any) -> int | None:
    if isinstance(text, str) and re.match(r"^\d{4}", text):
        return int(text[:4])
    return None


def draft(
    study: Mapping[str, Any], instruments: Sequence[Instrument], warnings: list[str]
) -> dict[str, Any]:
    """A study body from the results section, as far as the registry goes (module docstring)."""
    protocol = _get(study, "protocolSection") or {}
    arms = _arm_roles(protocol, warnings)
    results: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    for measure in _get(study, "resultsSection", "outcomeMeasuresModule", "outcomeMeasures") or []:
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
    enrolled = _get(protocol, "designModule", "enrollmentInfo", "count")
    if enrolled != total:
        warnings.append(f"the arms add up to {total}, the registry's enrollment is {enrolled}")
    text = json.dumps(_get(protocol, "armsInterventionsModule") or {})
    nct = _get(protocol, "identificationModule", "nctId")
    body: dict[str, Any] = {
        "title": _get(protocol, "identificationModule", "officialTitle")
        or _get(protocol, "identificationModule", "briefTitle"),
        "authors": _officials(protocol),
        "year": _year(_get(protocol, "statusModule", "resultsFirstPostDateStruct", "date"))
        or _year(_get(protocol, "statusModule", "completionDateStruct", "date")),
        "registration_id": nct,
        "country": _country(protocol),
        "design": DESIGNS.get(
            str(_get(protocol, "designModule", "designInfo", "allocation")), "single-group-pre-post"
        ),
        "category": _category(text),
        "intervention_name": _intervention(protocol),
        "comparator": _comparator(protocol),
        "population": ", ".join(_get(protocol, "conditionsModule", "conditions") or []) or None,
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
    groups = _get(protocol, "armsInterventionsModule", "armGroups") or []
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
    module = _get(study, "resultsSection", "baselineCharacteristicsModule") or {}
    titles = {
        str(g.get("id")): str(g.get("title"))
        for g in module.get("groups") or []
        if isinstance(g, Mapping)
    }
    counts = _denominators(module)
    return {titles[gid]: n for gid, n in counts.items() if titles.get(gid) in arms}


def _country(protocol: Mapping[str, Any]) -> str | None:
    for location in _get(protocol, "contactsLocationsModule", "locations") or []:
        if isinstance(location, Mapping) and location.get("country"):
            return str(location["country"])
    return None


def _category(text: str) -> str:
    lowered = text.lower()
    if "peer-run" in lowered or "peer run" in lowered or "consumer-operated" in lowered:
        return "peer-run-service"
    return "peer-group" if "group" in lowered else "one-to-one"


def _intervention(protocol: Mapping[str, Any]) -> str | None:
    for item in _get(protocol, "armsInterventionsModule", "interventions") or []:
        if isinstance(item, Mapping) and item.get("name"):
            return str(item["name"])[:300]
    return None


def _comparator(protocol: Mapping[str, Any]) -> str:
    for group in _get(protocol, "armsInterventionsModule", "armGroups") or []:
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
