"""The evidence store: studies and their revisions, arms, outcome results, versions and audit.

``evidence_head`` is seeded with its single row at version 0; every write increments it while
holding its row lock, which makes version numbers gapless and strictly ordered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import refuse_to_drop_rows

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    referred_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{referred_table}")
    )


def _create_versions() -> None:
    head = op.create_table(
        "evidence_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_evidence_head_single_row")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_evidence_head_version_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_head")),
    )
    op.bulk_insert(head, [{"id": 1, "version": 0}])
    op.create_table(
        "evidence_version",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.CheckConstraint(
            "kind IN ('create', 'batch', 'update', 'include', 'exclude', 'withdraw')",
            name=op.f("ck_evidence_version_kind"),
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_evidence_version")),
    )


def _create_studies() -> None:
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_version", sa.Integer(), nullable=False),
        _fk("study", "created_version", "evidence_version.number"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
    )
    op.create_table(
        "study_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("authors", sa.String(2000), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("doi", sa.String(255), nullable=True),
        sa.Column("pmid", sa.String(16), nullable=True),
        sa.Column("registration_id", sa.String(64), nullable=True),
        sa.Column("country", sa.String(100), nullable=True),
        sa.Column("design_slug", sa.String(64), nullable=False),
        sa.Column("category_slug", sa.String(64), nullable=False),
        sa.Column("intervention_name", sa.String(300), nullable=False),
        sa.Column("intervention_description", sa.Text(), nullable=True),
        sa.Column("comparator_slug", sa.String(64), nullable=False),
        sa.Column("comparator_description", sa.Text(), nullable=True),
        sa.Column("population", sa.Text(), nullable=False),
        sa.Column("setting", sa.String(500), nullable=True),
        sa.Column("total_randomized", sa.Integer(), nullable=False),
        sa.Column("quality_rating_slug", sa.String(64), nullable=False),
        sa.Column("quality_appraisal", sa.Text(), nullable=True),
        sa.Column("extracted_by", sa.String(200), nullable=False),
        sa.Column("source_document", sa.String(500), nullable=True),
        sa.Column("source_location", sa.String(200), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_study_revision_valid_range")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'included', 'excluded', 'withdrawn')",
            name=op.f("ck_study_revision_status"),
        ),
        sa.CheckConstraint(
            "(status IN ('excluded', 'withdrawn') AND status_reason IS NOT NULL)"
            " OR (status IN ('pending', 'included') AND status_reason IS NULL)",
            name=op.f("ck_study_revision_status_reason"),
        ),
        sa.CheckConstraint(
            "total_randomized >= 4", name=op.f("ck_study_revision_total_randomized")
        ),
        _fk("study_revision", "study_id", "study.id"),
        _fk("study_revision", "valid_from", "evidence_version.number"),
        _fk("study_revision", "valid_to", "evidence_version.number"),
        _fk("study_revision", "design_slug", "study_design.slug"),
        _fk("study_revision", "category_slug", "intervention_category.slug"),
        _fk("study_revision", "comparator_slug", "comparator.slug"),
        _fk("study_revision", "quality_rating_slug", "quality_rating.slug"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_revision")),
        sa.UniqueConstraint(
            "study_id", "valid_from", name=op.f("uq_study_revision_study_id_valid_from")
        ),
    )
    op.create_index(
        "ix_study_revision_study_id_valid_to", "study_revision", ["study_id", "valid_to"]
    )
    op.create_index("ix_study_revision_valid_to", "study_revision", ["valid_to"])
    op.create_index("ix_study_revision_doi", "study_revision", ["doi"])
    op.create_index("ix_study_revision_registration_id", "study_revision", ["registration_id"])


def _create_arms_and_results() -> None:
    op.create_table(
        "study_arm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("n_randomized", sa.Integer(), nullable=False),
        sa.CheckConstraint("role IN ('intervention', 'control')", name=op.f("ck_study_arm_role")),
        sa.CheckConstraint("n_randomized >= 2", name=op.f("ck_study_arm_n_randomized")),
        _fk("study_arm", "revision_id", "study_revision.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_arm")),
        sa.UniqueConstraint("revision_id", "label", name=op.f("uq_study_arm_revision_id_label")),
    )
    op.create_index(op.f("ix_study_arm_revision_id"), "study_arm", ["revision_id"])
    op.create_table(
        "outcome_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome_slug", sa.String(64), nullable=False),
        sa.Column("instrument_slug", sa.String(64), nullable=False),
        sa.Column("timepoint_weeks", sa.Float(), nullable=False),
        sa.Column("timepoint_label", sa.String(16), nullable=False),
        sa.Column("intervention_arm_id", sa.Integer(), nullable=False),
        sa.Column("control_arm_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("reported", sa.JSON(), nullable=False),
        sa.Column("icc", sa.Float(), nullable=True),
        sa.Column("mean_cluster_size", sa.Float(), nullable=True),
        sa.Column("source_location", sa.String(200), nullable=True),
        sa.Column("yi", sa.Float(), nullable=False),
        sa.Column("vi", sa.Float(), nullable=False),
        sa.Column("sign_flipped", sa.Boolean(), nullable=False),
        sa.Column("conversion", sa.String(64), nullable=False),
        sa.Column("engine_version", sa.String(32), nullable=False),
        sa.CheckConstraint(
            "form IN ('means', 'change_scores', 't', 'f', 'p', 'effect_se', 'effect_ci')",
            name=op.f("ck_outcome_result_form"),
        ),
        sa.CheckConstraint(
            "timepoint_label IN ('post', 'follow-up')",
            name=op.f("ck_outcome_result_timepoint_label"),
        ),
        sa.CheckConstraint("timepoint_weeks >= 0", name=op.f("ck_outcome_result_timepoint_weeks")),
        sa.CheckConstraint(
            "(icc IS NULL) = (mean_cluster_size IS NULL)",
            name=op.f("ck_outcome_result_cluster_pair"),
        ),
        sa.CheckConstraint("vi > 0", name=op.f("ck_outcome_result_vi_positive")),
        _fk("outcome_result", "revision_id", "study_revision.id"),
        _fk("outcome_result", "outcome_slug", "outcome.slug"),
        _fk("outcome_result", "instrument_slug", "instrument.slug"),
        _fk("outcome_result", "intervention_arm_id", "study_arm.id"),
        _fk("outcome_result", "control_arm_id", "study_arm.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_result")),
    )
    op.create_index(op.f("ix_outcome_result_revision_id"), "outcome_result", ["revision_id"])


def _create_changes_and_audit() -> None:
    op.create_table(
        "evidence_change",
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'include', 'exclude', 'withdraw')",
            name=op.f("ck_evidence_change_action"),
        ),
        _fk("evidence_change", "version_number", "evidence_version.number"),
        _fk("evidence_change", "study_id", "study.id"),
        sa.PrimaryKeyConstraint("version_number", "study_id", name=op.f("pk_evidence_change")),
    )
    op.create_index(op.f("ix_evidence_change_study_id"), "evidence_change", ["study_id"])
    op.create_table(
        "evidence_version_outcome",
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("outcome_slug", sa.String(64), nullable=False),
        _fk("evidence_version_outcome", "version_number", "evidence_version.number"),
        _fk("evidence_version_outcome", "outcome_slug", "outcome.slug"),
        sa.PrimaryKeyConstraint(
            "version_number", "outcome_slug", name=op.f("pk_evidence_version_outcome")
        ),
    )
    op.create_index(
        op.f("ix_evidence_version_outcome_outcome_slug"),
        "evidence_version_outcome",
        ["outcome_slug"],
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        _fk("audit_entry", "version_number", "evidence_version.number"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    op.create_index(op.f("ix_audit_entry_version_number"), "audit_entry", ["version_number"])
    op.create_index("ix_audit_entry_resource", "audit_entry", ["resource_type", "resource_id"])


def upgrade() -> None:
    _create_versions()
    _create_studies()
    _create_arms_and_results()
    _create_changes_and_audit()


def downgrade() -> None:
    # evidence_head is left out: its one seeded row counts evidence_version's rows.
    refuse_to_drop_rows(
        [
            "audit_entry",
            "evidence_version_outcome",
            "evidence_change",
            "outcome_result",
            "study_arm",
            "study_revision",
            "study",
            "evidence_version",
        ]
    )
    op.drop_index("ix_audit_entry_resource", table_name="audit_entry")
    op.drop_index(op.f("ix_audit_entry_version_number"), table_name="audit_entry")
    op.drop_table("audit_entry")
    op.drop_index(
        op.f("ix_evidence_version_outcome_outcome_slug"), table_name="evidence_version_outcome"
    )
    op.drop_table("evidence_version_outcome")
    op.drop_index(op.f("ix_evidence_change_study_id"), table_name="evidence_change")
    op.drop_table("evidence_change")
    op.drop_index(op.f("ix_outcome_result_revision_id"), table_name="outcome_result")
    op.drop_table("outcome_result")
    op.drop_index(op.f("ix_study_arm_revision_id"), table_name="study_arm")
    op.drop_table("study_arm")
    for index in ("registration_id", "doi", "valid_to", "study_id_valid_to"):
        op.drop_index(f"ix_study_revision_{index}", table_name="study_revision")
    op.drop_table("study_revision")
    op.drop_table("study")
    op.drop_table("evidence_version")
    op.drop_table("evidence_head")
