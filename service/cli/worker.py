"""``lma worker``: a dedicated webhook delivery process (run several on PostgreSQL)."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def _worker(_: argparse.Namespace) -> int:
    from service.db.engine import Database
    from service.delivery.worker import DeliveryWorker
    from service.settings import get_settings

    settings = get_settings()
    database = Database.from_settings(settings)
    worker = DeliveryWorker(database, settings)
    stop = threading.Event()

    def request_stop(*_: Any) -> None:
        stop.set()
        worker.wake()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"{worker.name} delivering webhooks (Ctrl-C or SIGTERM stops)", flush=True)
    try:
        worker.run(stop)
    finally:
        worker.close()
        database.dispose()
    return 0


def add_worker_commands(commands: Any) -> None:
    """``lma worker``; set WEBHOOKS_DELIVER_IN_API=false on the API processes then."""
    parser = commands.add_parser("worker", help="deliver webhooks until stopped")
    parser.set_defaults(handler=_worker)
