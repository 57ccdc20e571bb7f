"""Events (the transactional outbox), webhook endpoints, deliveries and delivery attempts.

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import refuse_to_drop_rows

revision: str = "0015"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
TABLES = ["delivery_attempt", "webhook_delivery", "webhook", "event"]


def _create_event() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("evidence_version", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("study_status", sa.String(16), nullable=True),
        sa.Column("study_submitter", sa.String(100), nullable=True),
        sa.Column("owner_key_id", sa.Integer(), nullable=True),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index(op.f("ix_event_created_at"), "event", ["created_at"])


def _create_webhook() -> None:
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_key_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(200), nullable=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("previous_secret", sa.String(100), nullable=True),
        sa.Column("previous_secret_until", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("retry_at", UTC_DATETIME, nullable=True),
        sa.Column("failing_since", UTC_DATETIME, nullable=True),
        sa.Column("leased_until", UTC_DATETIME, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_key_id"], ["api_key.id"], name=op.f("fk_webhook_owner_key_id_api_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )


def _create_deliveries() -> None:
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhook.id"],
            name=op.f("fk_webhook_delivery_webhook_id_webhook"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["event.id"],
            name=op.f("fk_webhook_delivery_event_id_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint(
            "webhook_id", "event_id", name=op.f("uq_webhook_delivery_webhook_id_event_id")
        ),
    )
    op.create_index(
        "ix_webhook_delivery_pending", "webhook_delivery", ["webhook_id", "status", "event_id"]
    )
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTC_DATETIME, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("response_excerpt", sa.String(2048), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_delivery.id"],
            name=op.f("fk_delivery_attempt_delivery_id_webhook_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempt")),
    )
    op.create_index(op.f("ix_delivery_attempt_delivery_id"), "delivery_attempt", ["delivery_id"])
    op.create_index(op.f("ix_delivery_attempt_webhook_id"), "delivery_attempt", ["webhook_id"])


def upgrade() -> None:
    _create_event()
    _create_webhook()
    _create_deliveries()


def downgrade() -> None:
    refuse_to_drop_rows(TABLES)
    op.drop_index(op.f("ix_delivery_attempt_webhook_id"), table_name="delivery_attempt")
    op.drop_index(op.f("ix_delivery_attempt_delivery_id"), table_name="delivery_attempt")
    op.drop_table("delivery_attempt")
    op.drop_index("ix_webhook_delivery_pending", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook")
    op.drop_index(op.f("ix_event_created_at"), table_name="event")
    op.drop_table("event")
