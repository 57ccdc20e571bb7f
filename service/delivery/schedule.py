"""When to try again: Svix's retry schedule with jitter, Retry-After, and when to give up.

Svix (docs.svix.com/retries): immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
after the previous attempt, each with +-20% jitter so that a recovering receiver is not hit
by every sender at the same second. An endpoint whose deliveries have all failed for five
days is disabled.

A 429 or 503 with ``Retry-After`` (RFC 9110 10.2.3) is a receiver asking for time, not a
failure of the schedule: the attempt is deferred by what it asks (capped by the
``WEBHOOKS_MAX_RETRY_AFTER_SECONDS`` setting) and does not use up a scheduled attempt, as
long as the delivery is within :data:`WINDOW` of its first attempt (the schedule's own
length). Past it, a deferral counts as an attempt, so an event is still given up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

DELAYS_SECONDS = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.2
DISABLE_AFTER = timedelta(days=5)
# The schedule's length without jitter (27 h 35 min 5 s): deferrals asked by Retry-After
# are free within it.
WINDOW = timedelta(seconds=sum(DELAYS_SECONDS))


def next_delay(
    attempts: int, *, uniform: Callable[[float, float], float] = random.uniform
) -> timedelta | None:
    """The wait after the ``attempts``-th failed attempt, jittered; None once it is the last."""
    if attempts >= len(DELAYS_SECONDS):
        return None
    base = DELAYS_SECONDS[attempts]
    return timedelta(seconds=base * uniform(1 - JITTER, 1 + JITTER))


def retry_after(value: str | None, now: datetime, *, cap: timedelta) -> timedelta | None:
    """RFC 9110 10.2.3: delay-seconds or an HTTP-date, at most ``cap``; None when absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(timedelta(seconds=int(value[:12])), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), cap)
