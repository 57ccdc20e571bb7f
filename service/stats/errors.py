"""Errors raised by the numerical core.

The core knows nothing of HTTP: callers translate these into their own responses.
"""

from __future__ import annotations


class StatsInputError(ValueError):
    """Input that no method can analyse (wrong shapes, non-finite values, non-positive variances).

    ``field`` names the offending argument so that callers can point at it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConvergenceError(ArithmeticError):
    """An iterative estimator did not converge within its iteration limit."""
