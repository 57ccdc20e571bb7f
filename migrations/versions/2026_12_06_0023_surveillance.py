"""Surveillance: search runs and the candidates they find (issue 28).

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import refuse_to_drop_rows

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "search_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("query", sa.String(2000), nullable=False),
        sa.Column("window_start", UTC_DATETIME, nullable=True),
        sa.Column("window_end", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_run")),
    )
    op.create_index(op.f("ix_search_run_source"), "search_run", ["source"])
    op.create_table(
        "candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("search_run_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("nct_id", sa.String(20), nullable=True),
        sa.Column("pmid", sa.String(20), nullable=True),
        sa.Column("doi", sa.String(200), nullable=True),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("authors", sa.String(2000), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column("publication_types", sa.JSON(), nullable=False),
        sa.Column("registry_status", sa.String(60), nullable=True),
        sa.Column("completion_date", sa.String(10), nullable=True),
        sa.Column("has_results", sa.Boolean(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("exclusion_reason", sa.String(40), nullable=True),
        sa.Column("duplicate_of_study_id", sa.Integer(), nullable=True),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("found_at", UTC_DATETIME, nullable=False),
        sa.Column("screened_by", sa.String(200), nullable=True),
        sa.Column("screened_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["search_run_id"], ["search_run.id"], name=op.f("fk_candidate_search_run_id_search_run")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_study_id"],
            ["study.id"],
            name=op.f("fk_candidate_duplicate_of_study_id_study"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_candidate_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate")),
    )
    for column in ("search_run_id", "nct_id", "pmid", "doi", "decision"):
        op.create_index(op.f(f"ix_candidate_{column}"), "candidate", [column])


def downgrade() -> None:
    refuse_to_drop_rows(["candidate", "search_run"])
    for column in ("search_run_id", "nct_id", "pmid", "doi", "decision"):
        op.drop_index(op.f(f"ix_candidate_{column}"), table_name="candidate")
    op.drop_table("candidate")
    op.drop_index(op.f("ix_search_run_source"), table_name="search_run")
    op.drop_table("search_run")
