"""A small async load generator (aiohttp), run in its own process: ``python -m bench.load``.

N connections each send the same GET back to back for a fixed time; the result, printed as one
JSON object, holds the request count, throughput, latency percentiles and the status codes seen.
Bounded in time and only ever aimed at the loopback server the benchmark started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.timing import percentile


async def _connection(
    session: Any,
    url: str,
    headers: dict[str, str],
    stop_at: float,
    latencies: list[float],
    statuses: Counter[int],
) -> None:
    while time.perf_counter() < stop_at:
        start = time.perf_counter()
        async with session.get(url, headers=headers) as response:
            await response.read()
        latencies.append(time.perf_counter() - start)
        statuses[response.status] += 1


async def run_load(
    url: str, connections: int, duration: float, headers: dict[str, str]
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    # The raw (compressed) bytes are read, not decoded: the client shares the 2 cores with the
    # server, and decompressing a 3 MB answer per request would measure the client.
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, auto_decompress=False
    ) as session:
        # One untimed request per connection, so that connection set-up is not measured.
        await asyncio.gather(*(_warm(session, url, headers) for _ in range(connections)))
        start = time.perf_counter()
        stop_at = start + duration
        await asyncio.gather(
            *(
                _connection(session, url, headers, stop_at, latencies, statuses)
                for _ in range(connections)
            )
        )
        elapsed = time.perf_counter() - start
    return {
        "connections": connections,
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


async def _warm(session: Any, url: str, headers: dict[str, str]) -> None:
    async with session.get(url, headers=headers) as response:
        await response.read()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.", "http://localhost")):
        parser.error("the load generator only targets the loopback server the bench started")
    headers = dict(h.split(": ", 1) for h in args.header)
    result = asyncio.run(run_load(args.url, args.connections, min(args.duration, 30.0), headers))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
