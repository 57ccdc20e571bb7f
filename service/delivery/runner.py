"""Delivery in a background thread: the API's own (lifespan) and ``lma worker``'s."""

from __future__ import annotations

import threading

from service.db.engine import Database
from service.delivery.worker import DeliveryWorker
from service.settings import Settings


class BackgroundDelivery:
    """A :class:`DeliveryWorker` running until :meth:`stop`."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.worker = DeliveryWorker(database, settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.worker.run, args=(self._stop,), name="webhook-delivery", daemon=True
        )

    def start(self) -> BackgroundDelivery:
        self._thread.start()
        return self

    def stop(self, timeout: float = 20.0) -> None:
        """Stop claiming; wait for attempts in flight (each ends within its timeout)."""
        self._stop.set()
        self.worker.wake()
        self._thread.join(timeout)
        self.worker.close()
