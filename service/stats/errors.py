"""Errors raised by the numerical core.

The core knows nothing of HTTP: callers translate these into their own responses.
"""

from __future__ import annotations

import time


class StatsInputError(ValueError):
    """Input that no method can analyse (wrong shapes, non-finite values, non-positive variances).

    ``field`` names the offending argument so that callers can point at it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConvergenceError(ArithmeticError):
    """An iterative estimator did not converge within its iteration limit."""


class DeadlineExceededError(RuntimeError):
    """A long computation passed the deadline its caller set, and stopped."""


def check_deadline(deadline: float | None) -> None:
    """Raise :class:`DeadlineExceededError` once ``time.monotonic()`` is past ``deadline``.

    Called once per refit inside the O(k^2) loops, so that a computation whose client has left,
    or that runs past its budget, stops within one refit of its deadline (``None``: no limit).
    """
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceededError("the computation ran past its deadline")
