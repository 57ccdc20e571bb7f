"""``lma worker``: a dedicated process concluding versions and delivering webhooks.

Run several on PostgreSQL; set CONCLUSIONS_IN_API=false and WEBHOOKS_DELIVER_IN_API=false on
the API processes then.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def _worker(_: argparse.Namespace) -> int:
    from service.db.engine import Database
    from service.delivery.worker import DeliveryWorker
    from service.settings import get_settings
    from service.usecases.conclusions.runner import listen_for_versions, worker_for

    settings = get_settings()
    database = Database.from_settings(settings)
    worker = DeliveryWorker(database, settings)
    conclusions = worker_for(database, settings)
    stop = threading.Event()

    def request_stop(*_: Any) -> None:
        stop.set()
        worker.wake()
        conclusions.wake()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(
        f"{worker.name} concluding versions and delivering webhooks (Ctrl-C or SIGTERM stops)",
        flush=True,
    )
    concluding = threading.Thread(target=conclusions.run, args=(stop,), name="conclusions")
    concluding.start()
    # Woken by every version committed anywhere, on PostgreSQL; polling stays the safety net.
    listener = listen_for_versions(database.url, conclusions.wake, stop)
    try:
        worker.run(stop)
    finally:
        stop.set()
        conclusions.wake()
        concluding.join()
        if listener is not None:
            listener.join()
        worker.close()
        database.dispose()
    return 0


def add_worker_commands(commands: Any) -> None:
    """``lma worker``; set WEBHOOKS_DELIVER_IN_API=false on the API processes then."""
    parser = commands.add_parser(
        "worker", help="conclude versions and deliver webhooks until stopped"
    )
    parser.set_defaults(handler=_worker)
