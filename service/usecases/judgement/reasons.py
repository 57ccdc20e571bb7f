"""Whether the conclusion of an answer changed, and why: pure functions of two answers.

For the what-if preview, and for a ``conclusion.changed`` event detector (the notifications
issue) to call once its events exist: each returns the list of reasons, empty when the
conclusion stands. A conclusion is what a reader would take away, not the digits:

- ``status``: pooled became narrative, or the reverse;
- ``certainty``: the GRADE level moved;
- ``statement``: the informative sentence changed (its direction or size of effect);
- ``significance``: the confidence interval began or ceased to exclude no effect;
- ``boundary_crossed`` / ``ris_reached``: sequential monitoring reached either (monitoring).
"""

from __future__ import annotations

from service.schemas.certainty import CertaintyRead, StatementRead
from service.schemas.pooled_summary import PooledSummaryRead


def _sentence(statement: StatementRead | None) -> str | None:
    # The statement without its numbers: ``text`` up to the parenthesis.
    return statement.text.split(" (", 1)[0] if statement else None


def _excludes_zero(summary: PooledSummaryRead) -> bool | None:
    if summary.ci_lower is None or summary.ci_upper is None:
        return None
    return summary.ci_lower > 0.0 or summary.ci_upper < 0.0


def conclusion_change_reasons(
    before: PooledSummaryRead,
    after: PooledSummaryRead,
    *,
    certainty: tuple[CertaintyRead | None, CertaintyRead | None] = (None, None),
    statement: tuple[StatementRead | None, StatementRead | None] = (None, None),
) -> list[str]:
    """Why the conclusion of a pooled answer differs between two versions (empty: it does not)."""
    reasons = []
    if before.status != after.status:
        reasons.append("status")
    levels = tuple(c.level if c else None for c in certainty)
    if levels[0] != levels[1]:
        reasons.append("certainty")
    if _sentence(statement[0]) != _sentence(statement[1]):
        reasons.append("statement")
    if _excludes_zero(before) != _excludes_zero(after):
        reasons.append("significance")
    return reasons


def monitoring_change_reasons(before: str | None, after: str) -> list[str]:
    """``boundary_crossed`` or ``ris_reached`` when monitoring newly reached that status.

    ``before`` and ``after`` are the monitoring statuses (``None``: no monitoring before).
    """
    if after not in ("boundary_crossed", "ris_reached"):
        return []
    if before == after:
        return []
    return [after]
