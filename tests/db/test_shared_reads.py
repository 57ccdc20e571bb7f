"""Concurrent version probes share reads, and never one begun before they arrived."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from service.db.head_probe import SharedReads, State, head_probe_for

T = TypeVar("T")


class Counter:
    """A version counter whose reads the test releases one at a time."""

    def __init__(self) -> None:
        self.version = 1
        self.reads = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.fail: BaseException | None = None

    async def read(self) -> State:
        self.reads += 1
        seen = self.version  # evaluated when the read starts, as a query's snapshot is
        self.started.set()
        await self.release.wait()
        self.release.clear()
        if self.fail is not None:
            raise self.fail
        return seen, 0


def _run(scenario: Coroutine[Any, Any, T]) -> T:
    """A scenario with a deadline: a broken sharing fails the test instead of hanging it."""
    return asyncio.run(asyncio.wait_for(scenario, timeout=5))


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_caller_arriving_during_a_read_waits_for_the_next_one() -> None:
    """The read-your-writes rule: a commit acknowledged before a request arrived is seen,
    even though a read was already in flight when it came."""

    async def scenario() -> list[State]:
        counter = Counter()
        shared = SharedReads(counter.read)
        first = asyncio.ensure_future(shared())
        await counter.started.wait()
        counter.started.clear()
        counter.version = 2  # another process commits while the first read is in flight
        later = [asyncio.ensure_future(shared()) for _ in range(5)]
        await _settle()
        counter.release.set()  # the first read answers what it saw: version 1
        await counter.started.wait()
        counter.release.set()
        results = [await first, *[await task for task in later]]
        assert counter.reads == 2  # the five later callers shared one read
        return results

    assert _run(scenario()) == [(1, 0)] + [(2, 0)] * 5


def test_a_failed_read_fails_its_callers_and_the_next_read_goes_on() -> None:
    async def scenario() -> tuple[BaseException | None, State]:
        counter = Counter()
        shared = SharedReads(counter.read)
        counter.fail = OSError("connection lost")
        failing = asyncio.ensure_future(shared())
        await counter.started.wait()
        counter.release.set()
        error = (await asyncio.gather(failing, return_exceptions=True))[0]
        counter.fail, counter.version = None, 3
        counter.started.clear()
        again = asyncio.ensure_future(shared())
        await counter.started.wait()
        counter.release.set()
        return error if isinstance(error, BaseException) else None, await again

    error, state = _run(scenario())
    assert isinstance(error, OSError)
    assert state == (3, 0)


def test_a_caller_that_goes_away_does_not_cancel_the_shared_read() -> None:
    async def scenario() -> State:
        counter = Counter()
        shared = SharedReads(counter.read)
        leaving = asyncio.ensure_future(shared())
        staying = asyncio.ensure_future(shared())
        await counter.started.wait()
        leaving.cancel()
        await _settle()
        counter.release.set()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying

    assert _run(scenario()) == (1, 0)


def test_a_cancelled_read_cancels_its_callers_and_the_runner_stops() -> None:
    """The event loop shutting down cancels the runner: its callers see the cancellation, and
    a later call starts a new runner."""

    async def scenario() -> tuple[bool, State]:
        counter = Counter()
        shared = SharedReads(counter.read)
        waiting = asyncio.ensure_future(shared())
        await counter.started.wait()
        runner = shared._runner
        assert runner is not None
        runner.cancel()
        outcome = (await asyncio.gather(waiting, return_exceptions=True))[0]
        counter.started.clear()
        again = asyncio.ensure_future(shared())
        await counter.started.wait()
        counter.release.set()
        return isinstance(outcome, asyncio.CancelledError) and runner.cancelled(), await again

    cancelled, state = _run(scenario())
    assert cancelled
    assert state == (1, 0)


def test_an_unreachable_postgresql_answers_none_each_time() -> None:
    """The fast path then takes the route (through a session, which reports the outage)."""
    probe = head_probe_for("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    assert probe is not None

    async def twice() -> list[object]:
        return [await probe.head(), await probe.state()]

    assert _run(twice()) == [None, None]
