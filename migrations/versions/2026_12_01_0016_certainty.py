"""Certainty of evidence: each outcome's MID and benefit direction, and curators' judgements.

``outcome.mid`` is the minimal important difference (SMD) of the GRADE rules, 0.2 by default
(Cohen's small effect, GRADE guidance 34); ``outcome.lower_is_better`` marks outcomes where a
benefit is a reduction (internalized stigma). ``certainty_judgement`` holds versioned
judgements, and ``judgement`` becomes an evidence version kind.

SQLite cannot alter a CHECK constraint; it is rewritten in the schema as SQLite's documentation
describes for such changes ("ALTER TABLE", section 7: writable_schema, then a new
schema_version), since rebuilding ``evidence_version`` would break the foreign keys of every
table that refers to it.

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import refuse_to_drop_rows

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "'create', 'batch', 'update', 'include', 'exclude', 'withdraw'"
NEW_KINDS = OLD_KINDS + ", 'judgement'"
DOMAINS = "'risk_of_bias', 'inconsistency', 'indirectness', 'imprecision', 'publication_bias'"


def _version_kinds(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        bind = op.get_bind()
        schema_version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
        bind.exec_driver_sql("PRAGMA writable_schema=ON")
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) "
            "WHERE type = 'table' AND name = 'evidence_version'",
            (f"({old})", f"({new})"),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version={int(schema_version) + 1}")
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
        return
    op.drop_constraint(op.f("ck_evidence_version_kind"), "evidence_version", type_="check")
    op.create_check_constraint(
        op.f("ck_evidence_version_kind"), "evidence_version", f"kind IN ({new})"
    )


def upgrade() -> None:
    op.add_column("outcome", sa.Column("mid", sa.Float(), server_default="0.2", nullable=False))
    op.add_column(
        "outcome",
        sa.Column("lower_is_better", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute("UPDATE outcome SET lower_is_better = true WHERE slug = 'internalized-stigma'")
    _version_kinds(OLD_KINDS, NEW_KINDS)
    op.create_table(
        "certainty_judgement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outcome_slug", sa.String(64), nullable=False),
        sa.Column("category_slug", sa.String(64), nullable=True),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("downgrade", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "downgrade BETWEEN 0 AND 2", name=op.f("ck_certainty_judgement_downgrade")
        ),
        sa.CheckConstraint(f"domain IN ({DOMAINS})", name=op.f("ck_certainty_judgement_domain")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from",
            name=op.f("ck_certainty_judgement_valid_range"),
        ),
        sa.ForeignKeyConstraint(
            ["outcome_slug"],
            ["outcome.slug"],
            name=op.f("fk_certainty_judgement_outcome_slug_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["category_slug"],
            ["intervention_category.slug"],
            name=op.f("fk_certainty_judgement_category_slug_intervention_category"),
        ),
        sa.ForeignKeyConstraint(
            ["valid_from"],
            ["evidence_version.number"],
            name=op.f("fk_certainty_judgement_valid_from_evidence_version"),
        ),
        sa.ForeignKeyConstraint(
            ["valid_to"],
            ["evidence_version.number"],
            name=op.f("fk_certainty_judgement_valid_to_evidence_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certainty_judgement")),
    )
    op.create_index(
        "ix_certainty_judgement_outcome_slug_valid_to",
        "certainty_judgement",
        ["outcome_slug", "valid_to"],
    )


def downgrade() -> None:
    refuse_to_drop_rows(["certainty_judgement"])
    op.drop_index("ix_certainty_judgement_outcome_slug_valid_to", table_name="certainty_judgement")
    op.drop_table("certainty_judgement")
    _version_kinds(NEW_KINDS, OLD_KINDS)
    # Both databases drop a column in place (SQLite >= 3.35); rebuilding ``outcome`` would
    # break the foreign keys that refer to it.
    op.execute("ALTER TABLE outcome DROP COLUMN lower_is_better")
    op.execute("ALTER TABLE outcome DROP COLUMN mid")
