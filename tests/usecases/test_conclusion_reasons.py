"""Why a conclusion changed: the pure functions the preview (and a future event) call."""

from __future__ import annotations

from service.schemas.certainty import StatementRead
from service.schemas.pooled_summary import PooledSummaryRead
from service.usecases.judgement.reasons import conclusion_change_reasons, monitoring_change_reasons


def _summary(
    status: str = "pooled", lower: float | None = 0.1, upper: float | None = 0.5
) -> PooledSummaryRead:
    return PooledSummaryRead(
        status=status, k=5, participants=500, estimate=0.3, ci_lower=lower, ci_upper=upper,  # type: ignore[arg-type]
        pi_lower=None, pi_upper=None, tau2=0.0, i2=0.0,
    )  # fmt: skip


def _statement(sentence: str, numbers: str = "g = 0.30") -> StatementRead:
    return StatementRead(text=f"{sentence} ({numbers}).", plain_language=sentence)


def test_nothing_changes_when_only_the_digits_move() -> None:
    before = (_statement("Peer support may increase empowerment slightly", "g = 0.30"),) * 2
    after = _statement("Peer support may increase empowerment slightly", "g = 0.31")
    assert (
        conclusion_change_reasons(_summary(), _summary(lower=0.12), statement=(before[0], after))
        == []
    )


def test_each_reason() -> None:
    assert conclusion_change_reasons(_summary("insufficient_evidence", None, None), _summary()) == [
        "status", "significance",
    ]  # fmt: skip
    assert conclusion_change_reasons(_summary(), _summary(lower=-0.1)) == ["significance"]
    worded = (_statement("Peer support may increase empowerment slightly"),
              _statement("Peer support may increase empowerment"))  # fmt: skip
    assert conclusion_change_reasons(_summary(), _summary(), statement=worded) == ["statement"]


def test_monitoring_reasons_fire_when_the_status_is_newly_reached() -> None:
    assert monitoring_change_reasons("continue", "boundary_crossed") == ["boundary_crossed"]
    assert monitoring_change_reasons(None, "ris_reached") == ["ris_reached"]
    assert monitoring_change_reasons("ris_reached", "ris_reached") == []
    assert monitoring_change_reasons("boundary_crossed", "continue") == []
    assert monitoring_change_reasons("continue", "futility") == []
