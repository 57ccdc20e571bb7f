"""Each GRADE domain rule at 0, 1 and 2 levels on constructed numbers, and the level arithmetic."""

from __future__ import annotations

import pytest

from service.stats.certainty import (
    NOT_ASSESSED,
    Interval,
    certainty_level,
    i2_bands,
    imprecision,
    inconsistency,
    indirectness,
    optimal_information_size,
    publication_bias,
    risk_of_bias,
)

MID = 0.2


@pytest.mark.parametrize(
    ("low_risk", "expected"),
    [
        ([True, True, True, False], 0),  # 75% exactly: no downgrade
        ([True, True, False, False], 1),  # 50%
        ([True, True, True, True], 0),
        ([True, False, False, False], 2),  # 25%
    ],
)
def test_risk_of_bias_by_share_of_weight(low_risk: list[bool], expected: int) -> None:
    rating = risk_of_bias([25.0, 25.0, 25.0, 25.0], low_risk)
    assert rating.downgrade == expected
    assert rating.judgement == ("not_serious", "serious", "very_serious")[expected]
    assert rating.inputs["low_risk_weight_percent"] == pytest.approx(25.0 * sum(low_risk))


def test_risk_of_bias_uses_the_weights_not_the_count() -> None:
    assert risk_of_bias([80.0, 10.0, 10.0], [True, False, False]).downgrade == 0
    assert risk_of_bias([10.0, 80.0, 10.0], [True, False, True]).downgrade == 2


@pytest.mark.parametrize(
    ("ci", "pi", "expected"),
    [
        ((0.25, 0.5), (0.21, 0.6), 0),  # CI none, PI none
        ((0.25, 0.5), (0.1, 0.6), 1),  # CI none, PI one
        ((0.25, 0.5), (-0.3, 1.0), 2),  # CI none, PI both
        ((0.1, 0.5), (-0.3, 1.0), 1),  # CI one, PI both
        ((0.1, 0.5), (0.05, 0.6), 0),  # CI one, PI one
        ((-0.3, 0.5), (-0.5, 0.8), 0),  # CI both, PI both: imprecision's business
    ],
)
def test_inconsistency_follows_cinema(
    ci: tuple[float, float], pi: tuple[float, float], expected: int
) -> None:
    rating = inconsistency(Interval(*ci), Interval(*pi), MID, i2=40.0, study_intervals=[])
    assert rating.downgrade == expected
    assert "I2 = 40%" in rating.rationale


def test_inconsistency_uses_the_outcome_mid() -> None:
    rating = inconsistency(Interval(0.4, 0.6), Interval(0.1, 0.9), 0.3, i2=0.0, study_intervals=[])
    assert (rating.downgrade, rating.inputs["pi_crossings"]) == (1, 1)


def test_inconsistency_without_prediction_interval() -> None:
    opposite = [Interval(0.1, 0.9), Interval(-0.9, -0.1)]
    same_side = [Interval(0.1, 0.9), Interval(-0.5, 0.3)]
    ci = Interval(0.25, 0.5)  # clear of both thresholds: imprecision counts nothing
    assert inconsistency(ci, None, MID, i2=60.0, study_intervals=opposite).downgrade == 1
    assert inconsistency(ci, None, MID, i2=40.0, study_intervals=opposite).downgrade == 0
    assert inconsistency(ci, None, MID, i2=60.0, study_intervals=same_side).downgrade == 0


def test_the_same_spread_is_not_downgraded_twice() -> None:
    # Without a PI, the spread that makes I2 high and studies disagree also widened the CI
    # across +MID: imprecision counts it (one level), inconsistency does not add another.
    opposite = [Interval(0.1, 0.9), Interval(-0.9, -0.1)]
    ci = Interval(-0.1, 0.5)
    rating = inconsistency(ci, None, MID, i2=60.0, study_intervals=opposite)
    assert rating.downgrade == 0
    assert "counted under imprecision: not downgraded twice" in rating.rationale
    assert rating.inputs["counted_under_imprecision"] == 1
    assert imprecision(ci, MID, participants=2000).downgrade == 1
    # With a PI, the CI's crossings belong to imprecision; the PI's further ones to inconsistency.
    with_pi = inconsistency(ci, Interval(-0.6, 1.0), MID, i2=60.0, study_intervals=opposite)
    assert with_pi.downgrade == 1
    assert "already counted under imprecision" in with_pi.rationale


def test_the_prediction_interval_distribution_is_stated() -> None:
    rating = inconsistency(
        Interval(0.3, 0.5), Interval(0.1, 0.7), MID, i2=30.0, study_intervals=[],
        pi_distribution="t with k - 1 = 5 df",
    )  # fmt: skip
    assert "prediction interval (t with k - 1 = 5 df)" in rating.rationale
    assert rating.inputs["pi_distribution"] == "t with k - 1 = 5 df"


@pytest.mark.parametrize(
    ("i2", "bands"),
    [
        (10.0, ["might not be important"]),
        (35.0, ["might not be important", "may represent moderate heterogeneity"]),
        (55.0, ["may represent moderate heterogeneity", "may represent substantial heterogeneity"]),
        (80.0, ["may represent substantial heterogeneity", "considerable heterogeneity"]),
        (None, []),
    ],
)
def test_i2_handbook_bands(i2: float | None, bands: list[str]) -> None:
    assert i2_bands(i2) == bands


def test_optimal_information_size_per_arm() -> None:
    assert optimal_information_size(0.2) == 393
    assert optimal_information_size(0.5) == 63
    # 2 (z_0.995 + z_0.9)^2 / 0.2^2 = 743.9: the outcome's alpha and power change it.
    assert optimal_information_size(0.2, alpha=0.01, power=0.9) == 744


@pytest.mark.parametrize(
    ("ci", "participants", "expected"),
    [
        ((0.25, 0.5), 800, 0),  # crosses nothing, 400 per arm >= 393
        ((0.1, 0.5), 800, 1),  # crosses +MID
        ((-0.1, 0.5), 800, 1),  # crosses 0 and +MID
        ((-0.3, 0.5), 800, 2),  # crosses both
        ((0.25, 0.5), 700, 1),  # precise, but 350 per arm < 393
        ((0.25, 0.9), 120, 1),  # 60 per arm < 393: one level, no fixed 63-per-arm rule
        ((-0.1, 0.1), 800, 0),  # inside (-MID, MID): precisely trivial
    ],
)
def test_imprecision_by_ci_and_information_size(
    ci: tuple[float, float], participants: int, expected: int
) -> None:
    assert imprecision(Interval(*ci), MID, participants=participants).downgrade == expected


def test_imprecision_reads_the_outcomes_alpha_and_power() -> None:
    ci = Interval(0.25, 0.5)
    assert imprecision(ci, MID, participants=800).downgrade == 0  # 400 per arm >= 393
    strict = imprecision(ci, MID, participants=800, alpha=0.01, power=0.9)
    assert strict.downgrade == 1  # 400 per arm < 744
    assert (strict.inputs["alpha"], strict.inputs["power"]) == (0.01, 0.9)
    assert strict.inputs["optimal_information_size_per_arm"] == 744


@pytest.mark.parametrize(
    ("k", "p", "expected", "judgement"),
    [
        (12, 0.3, 0, "not_serious"),
        (12, 0.05, 1, "serious"),
        (9, 0.001, 0, NOT_ASSESSED),
        (12, None, 0, NOT_ASSESSED),
    ],
)
def test_publication_bias(k: int, p: float | None, expected: int, judgement: str) -> None:
    rating = publication_bias(k, p)
    assert (rating.downgrade, rating.judgement) == (expected, judgement)
    assert rating.inputs["egger"] == "regtest"
    if k < 10:
        assert "only 9 studies" in rating.rationale


def test_indirectness_is_not_assessed_by_rule() -> None:
    rating = indirectness()
    assert (rating.downgrade, rating.judgement) == (0, NOT_ASSESSED)


@pytest.mark.parametrize(
    ("downgrades", "level"),
    [
        ([0, 0], "high"),
        ([1, 0], "moderate"),
        ([1, 1], "low"),
        ([2, 1], "very_low"),
        ([2, 2, 2], "very_low"),
    ],
)
def test_level_is_high_minus_downgrades_floored(downgrades: list[int], level: str) -> None:
    assert certainty_level(downgrades) == level


def test_publication_bias_names_the_egger_variant() -> None:
    classic = publication_bias(12, 0.05, egger="classic")
    assert classic.inputs["egger"] == "classic"
    assert "Egger et al. 1997" in classic.rationale
    assert "regtest() default" in publication_bias(12, 0.05).rationale
