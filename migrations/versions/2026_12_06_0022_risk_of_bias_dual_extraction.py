"""Risk-of-bias assessments per outcome result, and dual extraction with its discrepancies.

``outcome_result.risk_of_bias`` holds a result's RoB 2 (or RoB 1) assessment as sent.
``study_extraction`` and ``extraction_discrepancy`` hold second extractions and the fields on
which they differ from the study; ``extraction`` becomes an evidence version kind.

SQLite cannot alter a CHECK constraint; it is rewritten in the schema as in revision 0016
(SQLite's "ALTER TABLE" documentation, section 7), since rebuilding ``evidence_version`` would
break the foreign keys of every table that refers to it.

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "'create', 'batch', 'update', 'include', 'exclude', 'withdraw', 'judgement'"
NEW_KINDS = OLD_KINDS + ", 'extraction'"


def _version_kinds(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
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
    with op.batch_alter_table("outcome_result") as batch:
        batch.add_column(sa.Column("risk_of_bias", sa.JSON(), nullable=True))
    _version_kinds(OLD_KINDS, NEW_KINDS)
    op.create_table(
        "study_extraction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("compared_with_version", sa.Integer(), nullable=False),
        sa.Column("first_actor", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("compared_fields", sa.Integer(), nullable=False),
        sa.Column("differing_fields", sa.Integer(), nullable=False),
        sa.Column("rob_pairs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_study_extraction_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["version_number"],
            ["evidence_version.number"],
            name=op.f("fk_study_extraction_version_number_evidence_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_extraction")),
    )
    op.create_index(op.f("ix_study_extraction_study_id"), "study_extraction", ["study_id"])
    op.create_table(
        "extraction_discrepancy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("first_value", sa.JSON(), nullable=True),
        sa.Column("second_value", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("resolved_value", sa.JSON(), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("resolved_version", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'resolved')", name=op.f("ck_extraction_discrepancy_status")
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('first', 'second', 'other')",
            name=op.f("ck_extraction_discrepancy_resolution"),
        ),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["study_extraction.id"],
            name=op.f("fk_extraction_discrepancy_extraction_id_study_extraction"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_extraction_discrepancy_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_version"],
            ["evidence_version.number"],
            name=op.f("fk_extraction_discrepancy_resolved_version_evidence_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extraction_discrepancy")),
    )
    op.create_index(
        op.f("ix_extraction_discrepancy_extraction_id"), "extraction_discrepancy", ["extraction_id"]
    )
    op.create_index(
        "ix_extraction_discrepancy_study_id_status",
        "extraction_discrepancy",
        ["study_id", "status"],
    )


def downgrade() -> None:
    op.drop_index("ix_extraction_discrepancy_study_id_status", "extraction_discrepancy")
    op.drop_index(op.f("ix_extraction_discrepancy_extraction_id"), "extraction_discrepancy")
    op.drop_table("extraction_discrepancy")
    op.drop_index(op.f("ix_study_extraction_study_id"), "study_extraction")
    op.drop_table("study_extraction")
    _version_kinds(NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table("outcome_result") as batch:
        batch.drop_column("risk_of_bias")
