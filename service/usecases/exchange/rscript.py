"""A pooled answer as a self-contained R script that reproduces it with metafor.

The script holds the effects inline (17 significant digits), one row per instrument or
comparison that entered the answer; where a study combined several, metafor's
``aggregate(..., rho = 0.5, weighted = FALSE)`` forms the study's single effect exactly as the
service does (Borenstein et al. 2009, eq. 24.6), and ``rma(yi, vi, method, test, level)`` fits
the model. It prints metafor's summary, then one ``name = value`` line per headline number
(estimate, se, CI, PI, tau2, I2) for machines to read. With ``bayes=true`` it also recomputes
the Bayesian posterior in base R (:mod:`.rscript_bayes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.schemas.pooled import PooledRead
from service.stats.aggregate import DEFAULT_CORRELATION
from service.stats.bayes import EffectPrior, TauPrior
from service.usecases.exchange.rscript_bayes import bayes_r_lines

# The service's names -> metafor's (rma's ``method`` and ``test``).
METHODS = {"FE": "FE", "EE": "EE"}
TESTS = {"z": "z", "hksj": "knha", "t": "t"}
HEADLINE = (
    ("estimate", "res$beta[1]"),
    ("se", "res$se"),
    ("ci_lower", "res$ci.lb"),
    ("ci_upper", "res$ci.ub"),
    ("pi_lower", "pred$pi.lb"),
    ("pi_upper", "pred$pi.ub"),
    ("tau2", "res$tau2"),
    ("i2", "res$I2"),
)


@dataclass(frozen=True, slots=True)
class Component:
    """One effect that entered a study's single effect (an instrument or a comparison)."""

    instrument: str
    yi: float
    vi: float
    # multi_arm=shared_control: vcalc's obs, grp1, grp2, w1, w2 (None: one effect, no sharing)
    groups: tuple[str, str, str, int, int] | None = None


def _r_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def _vector(values: Sequence[str]) -> str:
    return "c(" + ", ".join(values) + ")"


def _comment(text: str) -> str:
    return "# " + text.replace("\n", " ")


def _header(answer: PooledRead) -> list[str]:
    spec = answer.spec
    return [
        _comment(
            f"Living meta-analysis of peer support: {answer.outcome}, reproduced with metafor."
        ),
        _comment(f"Evidence version: {answer.evidence_version}"),
        _comment(f"Engine version: {answer.engine_version}"),
        _comment(f"Specification: {spec.canonical}"),
        _comment(
            f"Status: {answer.status} (k = {answer.k}, {answer.k_randomized} randomized, "
            f"min_k = {spec.min_k})"
        ),
        _comment(f"Combination: {answer.combination.description}"),
        "",
        "library(metafor)",
        "",
    ]


def _data(answer: PooledRead, components: Mapping[int, Sequence[Component]]) -> list[str]:
    ids, labels, instruments, yi, vi = [], [], [], [], []
    groups: list[tuple[str, str, str, int, int]] = []
    for study in answer.studies:
        parts = components.get(study.study_id) or [
            Component(" + ".join(study.instruments), study.yi, study.vi)
        ]
        for part in parts:
            ids.append(str(study.study_id))
            labels.append(_r_string(study.label))
            instruments.append(_r_string(part.instrument))
            yi.append(f"{part.yi:.17g}")
            vi.append(f"{part.vi:.17g}")
            groups.append(part.groups or (f"{len(groups)}", "intervention", "control", 1, 1))
    shared = answer.spec.multi_arm == "shared_control"
    return [
        "# One row per instrument (or comparison) that entered the answer; yi is Hedges' g,",
        "# positive favouring peer support, and vi its sampling variance.",
        "dat <- data.frame(",
        f"  study_id = {_vector(ids)},",
        f"  study = {_vector(labels)},",
        f"  instrument = {_vector(instruments)},",
        f"  yi = {_vector(yi)},",
        f"  vi = {_vector(vi)}" + ("," if shared else ""),
        *(_group_columns(groups) if shared else []),
        ")",
        "",
    ]


def _group_columns(groups: Sequence[tuple[str, str, str, int, int]]) -> list[str]:
    """vcalc's obs, grp1, grp2, w1, w2 columns (multi_arm=shared_control)."""
    obs = [_r_string(g[0]) for g in groups]
    arm1 = [_r_string(g[1]) for g in groups]
    arm2 = [_r_string(g[2]) for g in groups]
    n1 = [str(g[3]) for g in groups]
    n2 = [str(g[4]) for g in groups]
    return [
        f"  obs = {_vector(obs)},",
        f"  arm1 = {_vector(arm1)},",
        f"  arm2 = {_vector(arm2)},",
        f"  n1 = {_vector(n1)},",
        f"  n2 = {_vector(n2)}",
    ]


def _aggregate(components: Mapping[int, Sequence[Component]]) -> list[str]:
    if not any(len(parts) > 1 for parts in components.values()):
        return ["agg <- dat", ""]
    return [
        "# Studies with several effects: their unweighted mean, assuming a correlation of",
        f"# {DEFAULT_CORRELATION:g} between them (Borenstein et al. 2009, eq. 24.6).",
        'dat <- escalc(measure = "GEN", yi = yi, vi = vi, data = dat)',
        f"agg <- aggregate(dat, cluster = study_id, rho = {DEFAULT_CORRELATION!r}, "
        "weighted = FALSE)",
        "",
    ]


def _model(answer: PooledRead) -> list[str]:
    spec = answer.spec
    method = METHODS.get(spec.estimator, spec.estimator)
    level = f"{spec.level * 100:.10g}"
    lines = [
        "# Iterative estimators converge to 1e-12 (metafor's default threshold, 1e-5, stops",
        "# REML about 1e-5 short of the maximum that the service computes).",
        f'res <- rma(yi, vi, data = agg, method = "{method}", test = "{TESTS[spec.ci_method]}",',
        f"           level = {level}, slab = study,",
        "           control = list(threshold = 1e-12, maxiter = 10000))",
        "print(res)",
        "pred <- predict(res)",
        "print(pred)",
        "",
        "# Machine-readable headline numbers.",
    ]
    lines += [f'cat(sprintf("{name} = %.17g\\n", {value}))' for name, value in HEADLINE]
    return lines


def _dependence(answer: PooledRead) -> list[str]:
    """``rma.mv`` of every effect nested in its study (and CR2 for CHE), as the service fits it."""
    if answer.dependence is None:
        return []
    che = answer.dependence.dependence == "che"
    lines = [
        "",
        "# Dependence: every effect nested in its study, rma.mv(yi, V, random = ~ 1 | study / es).",
        "dat$es_id <- seq_len(nrow(dat))",
        _working_covariance(answer, che),
        "ml <- rma.mv(yi, V, random = ~ 1 | study_id / es_id, data = dat)",
        "print(ml)",
        'cat(sprintf("dependence_estimate = %.17g\\n", ml$beta[1]))',
        'cat(sprintf("dependence_se = %.17g\\n", ml$se))',
        'cat(sprintf("dependence_sigma2_between = %.17g\\n", ml$sigma2[1]))',
        'cat(sprintf("dependence_sigma2_within = %.17g\\n", ml$sigma2[2]))',
    ]
    if che:
        lines += [
            "library(clubSandwich)",
            'ct <- coef_test(ml, vcov = "CR2", cluster = dat$study_id)',
            "print(ct)",
            'cat(sprintf("dependence_cr2_se = %.17g\\n", ct$SE))',
            'cat(sprintf("dependence_cr2_df = %.17g\\n", ct$df_Satt))',
        ]
    return lines


def _working_covariance(answer: PooledRead, che: bool) -> str:
    rho = answer.dependence.rho if answer.dependence is not None else None
    if answer.spec.multi_arm == "shared_control":
        # Arms sharing a control correlate as vcalc's grp1/grp2/w1/w2 say (randomized ns);
        # rho (CHE; 0 for the three-level model) between different instruments.
        return (
            "V <- vcalc(vi, cluster = study_id, obs = obs, grp1 = arm1, grp2 = arm2, w1 = n1, "
            f"w2 = n2, rho = {(rho if che and rho is not None else 0.0)!r}, data = dat)"
        )
    if che:
        return f"V <- vcalc(vi, cluster = study_id, obs = es_id, rho = {rho!r}, data = dat)"
    return "V <- dat$vi"


def pooled_r_script(
    answer: PooledRead,
    components: Mapping[int, Sequence[Component]],
    priors: tuple[TauPrior, EffectPrior] | None = None,
) -> str:
    """The R script of ``answer``; ``components`` gives the effects each combined study averaged,
    ``priors`` the Bayesian block's (``bayes=true``), recomputed in base R."""
    lines = _header(answer)
    if not answer.studies:
        lines.append('cat("No study is eligible under this specification.\\n")')
        return "\n".join(lines) + "\n"
    if answer.status != "pooled":
        lines.append(
            _comment(
                "The service reports a narrative synthesis here (fewer eligible randomized "
                "studies than min_k); the model below is for reference only."
            )
        )
    lines += _data(answer, components) + _aggregate(components) + _model(answer)
    lines += _dependence(answer)
    if priors is not None:
        lines += bayes_r_lines(answer, *priors)
    return "\n".join(lines) + "\n"
