"""What each required key of a study body is, for the 422 that says one is missing (issue 12).

Pydantic's message for a missing key is the bare "Field required"; the problem document's
field error says instead what the field holds and how to fill it, in the words of the other
``detail`` messages (``'control' is required: the comparator arm as reported, with its mean,
sd and n``). A key is looked up by its parent in the body (the study, an arm, a result, a
reported form...), so ``n`` inside ``data.means.control`` and ``n_randomized`` inside ``arms``
get their own explanations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_VOCABULARY = "a slug of GET /v1/{list} (e.g. '{example}')"
STUDY = {
    "title": "the trial's title as published",
    "authors": "the authors as published, first author first (e.g. 'Boevink W, Kroon H')",
    "year": "the year of publication, a whole number",
    "design": _VOCABULARY.format(list="designs", example="randomized"),
    "category": _VOCABULARY.format(list="categories", example="peer-group"),
    "intervention_name": "the peer-support intervention's name",
    "comparator": _VOCABULARY.format(list="comparators", example="treatment-as-usual"),
    "population": "who took part (diagnosis, setting), in a few words",
    "total_randomized": "the number of people randomized, all arms together",
    "quality_rating": _VOCABULARY.format(list="quality-ratings", example="moderate"),
    "source": "where the data come from, at least {'extracted_by': 'your name'}",
    "arms": "the trial's arms, at least one intervention and one control arm, each with "
    "label, role and n_randomized",
    "outcome_results": "at least one result, each with outcome, instrument, timepoint and data",
    "studies": "the list of studies, each a body of POST /v1/studies",
}
ARM = {
    "label": "the arm's name, as the results' intervention_arm and control_arm refer to it",
    "role": "'intervention' or 'control'",
    "n_randomized": "the number of people randomized to the arm",
}
SOURCE = {"extracted_by": "who extracted the data (a name or initials)"}
RESULT = {
    "outcome": _VOCABULARY.format(list="outcomes", example="empowerment"),
    "instrument": _VOCABULARY.format(list="instruments", example="empowerment-scale"),
    "timepoint": "when it was measured: {'weeks': 12, 'label': 'post'}",
    "data": "the result as reported, with its form (e.g. {'form': 'means', 'intervention': "
    "{...}, 'control': {...}})",
}
TIMEPOINT = {
    "weeks": "weeks since randomization",
    "label": "'post' or 'follow-up'",
}
CLUSTER = {
    "icc": "the intracluster correlation coefficient",
    "mean_cluster_size": "the mean number of participants per cluster",
}
# What an arm of each form reports (the forms with an intervention and a control arm).
ARM_STATISTICS = {
    "means": "its mean, sd and n",
    "means_se": "its mean, se and n",
    "change_scores": "its mean_change, sd_change and n",
    "medians": "its median and n, with q1 and q3 or minimum and maximum",
    "dichotomous": "its events and total",
}
ARM_DATA = {
    "mean": "the arm's mean at the time point",
    "sd": "the arm's standard deviation (not the standard error: for that use form means_se)",
    "se": "the standard error of the arm's mean",
    "n": "the number of participants analysed in the arm",
    "mean_change": "the arm's mean change from baseline",
    "sd_change": "the standard deviation of the arm's change",
    "median": "the arm's median",
    "events": "the number of participants with the event (above the cut-off)",
    "total": "the number of participants analysed in the arm",
}
FORM_DATA = {
    "t": "the t statistic comparing the arms",
    "f": "the F statistic of the two-group comparison",
    "df": "the F statistic's denominator degrees of freedom",
    "favours": "which arm the result favours: 'intervention' or 'control'",
    "p": "the exact two-sided p value (for a bound such as '<0.001' use form p_bound)",
    "p_below": "the p value's bound: 0.001 for 'p < 0.001'",
    "effect": "the reported effect size",
    "se": "the standard error of the effect",
    "ci_lower": "the lower limit of the effect's confidence interval",
    "ci_upper": "the upper limit of the effect's confidence interval",
    "mean_difference": "the difference of the arms' means",
    "adjusted_mean_difference": "the covariate-adjusted difference of the arms' means",
    "positive_favours_intervention": "whether a positive effect favours the intervention "
    "(true or false)",
    "n_intervention": "the number of participants analysed in the intervention arm",
    "n_control": "the number of participants analysed in the control arm",
}
_BY_PARENT = {
    None: STUDY,
    "arms": ARM,
    "source": SOURCE,
    "outcome_results": RESULT,
    "timepoint": TIMEPOINT,
    "cluster": CLUSTER,
}
_ROLES = {"intervention": "the intervention arm", "control": "the comparator (control) arm"}


def _keys(location: Sequence[str | int]) -> list[str]:
    """The body's keys along ``location``, without list indices, ``body`` and the batch's
    ``studies`` (a study of a batch is explained as a study)."""
    keys = [str(part) for part in location if not isinstance(part, int)]
    if keys[:1] == ["body"]:
        keys = keys[1:]
    if keys[:1] == ["studies"] and len(keys) > 1:
        keys = keys[1:]
    return keys


def _hint(name: str, parents: list[str]) -> str | None:
    parent = parents[-1] if parents else None
    if parent in ARM_STATISTICS and name in _ROLES:
        return f"{_ROLES[name]} as reported, with {ARM_STATISTICS[parent]} (form '{parent}')"
    if parent in _ROLES and len(parents) > 1 and parents[-2] in ARM_STATISTICS:
        return ARM_DATA.get(name)
    if parent is not None and len(parents) > 1 and parents[-2] == "data":
        return FORM_DATA.get(name)
    return _BY_PARENT.get(parent, {}).get(name)


def field_message(error: Mapping[str, Any]) -> str:
    """The message of one of pydantic's errors: for a missing key of a study, what it is."""
    message = str(error.get("msg", "invalid value"))
    if error.get("type") != "missing":
        return message
    return missing_field_message(error.get("loc", ())) or message


def missing_field_message(location: Sequence[str | int]) -> str | None:
    """``'<key>' is required: <what it is>`` for a required key of a study body at
    ``location`` (pydantic's ``loc``), or ``None`` for a key this module does not know."""
    keys = _keys(location)
    if not keys:
        return None
    hint = _hint(keys[-1], keys[:-1])
    return None if hint is None else f"'{keys[-1]}' is required: {hint}"
