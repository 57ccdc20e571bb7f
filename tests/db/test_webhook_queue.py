"""WebhookRepository.queue with nothing to queue (a redelivery whose filter matched no event)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from service.db.repositories.webhooks import WebhookRepository

pytestmark = pytest.mark.db


def test_queueing_no_events_queues_nothing(session: Session) -> None:
    assert WebhookRepository(session).queue(1, [], datetime.now(UTC)) == 0
