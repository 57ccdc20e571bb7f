"""Reference tables and the review's vocabulary.

Seeds the outcomes, intervention categories, comparators, designs, quality ratings and
instruments of Burke et al. (2019). The seed rows are written out here, not imported from
the application, so that this migration means the same thing forever.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import refuse_to_drop_rows

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = [
    (
        "empowerment",
        "Empowerment",
        "Sense of power, control and self-determination over one's life and treatment.",
    ),
    (
        "self-efficacy",
        "Self-efficacy",
        "Confidence in one's ability to manage one's mental health and daily life.",
    ),
    (
        "internalized-stigma",
        "Internalized stigma",
        "Agreement with and application to oneself of negative stereotypes about mental illness.",
    ),
]
CATEGORIES = [
    (
        "peer-group",
        "Peer-led group interventions",
        "Structured or semi-structured groups facilitated by people with lived experience.",
    ),
    (
        "one-to-one",
        "One-to-one peer support",
        "Individual support from a peer worker, mentor or peer specialist.",
    ),
    (
        "peer-run-service",
        "Peer-run services",
        "Services planned, operated and staffed by people with lived experience.",
    ),
]
COMPARATORS = [
    ("treatment-as-usual", "Treatment as usual", "Usual care without the peer intervention."),
    ("waiting-list", "Waiting list", "Participants receive the intervention after the trial."),
    ("active-control", "Active control", "Another active intervention or attention control."),
    ("other", "Other", "Any other comparator; describe it in the study record."),
]
DESIGNS = [
    ("randomized", "Randomized controlled trial", "Individuals randomized to arms.", True),
    (
        "cluster-randomized",
        "Cluster randomized trial",
        "Groups (sites, teams) randomized; effects need a design-effect correction.",
        True,
    ),
    (
        "non-randomized-controlled",
        "Non-randomized controlled study",
        "A concurrent control group without randomization.",
        False,
    ),
    (
        "single-group-pre-post",
        "Single-group pre-post study",
        "One group measured before and after; no control group.",
        False,
    ),
]
QUALITY = [
    ("strong", "Strong", "Low risk of bias across appraisal domains.", 3),
    ("moderate", "Moderate", "Some concerns in one or more appraisal domains.", 2),
    ("weak", "Weak", "High risk of bias in one or more appraisal domains.", 1),
]
# (slug, name, abbreviation, outcome, higher_is_better, min, max, reference, notes)
INSTRUMENTS = [
    (
        "empowerment-scale",
        "Empowerment Scale (Making Decisions Empowerment Scale)",
        "ES",
        "empowerment",
        True,
        1.0,
        4.0,
        "Rogers ES, Chamberlin J, Ellison ML, Crean T. A consumer-constructed scale to measure "
        "empowerment among users of mental health services. Psychiatr Serv. 1997;48:1042-7.",
        "28 items; range is the mean item score.",
    ),
    (
        "empowerment-scale-power",
        "Empowerment Scale, power-powerlessness subscale",
        "ES-PP",
        "empowerment",
        True,
        1.0,
        4.0,
        "Rogers et al. 1997 (see the Empowerment Scale).",
        "Subscale of the Empowerment Scale, scored so that higher means more power.",
    ),
    (
        "boston-empowerment-scale",
        "Boston University Empowerment Scale",
        "BES",
        "empowerment",
        True,
        1.0,
        4.0,
        "Rogers et al. 1997, as translated and used in Dutch and other trials.",
        "The Rogers scale under the name of the Boston University centre that developed it.",
    ),
    (
        "dutch-empowerment-scale",
        "Dutch Empowerment Scale (Netherlands Empowerment List)",
        "NEL",
        "empowerment",
        True,
        1.0,
        5.0,
        "Boevink W, Kroon H, van Vugt M, et al. A user-developed, user run recovery programme "
        "for people with severe mental illness. 2016; Boevink W et al. The Netherlands "
        "Empowerment List. Psychiatr Rehabil J. 2017.",
        "40 items; range is the mean item score.",
    ),
    (
        "mental-health-confidence-scale",
        "Mental Health Confidence Scale",
        "MHCS",
        "self-efficacy",
        True,
        16.0,
        96.0,
        "Carpinello SE, Knight EL, Markowitz FE, Pease EA. The development of the Mental Health "
        "Confidence Scale. Psychiatr Rehabil J. 2000;23:236-43.",
        "16 items scored 1-6; range is the total score.",
    ),
    (
        "general-self-efficacy-scale",
        "General Self-Efficacy Scale",
        "GSE",
        "self-efficacy",
        True,
        10.0,
        40.0,
        "Schwarzer R, Jerusalem M. Generalized Self-Efficacy scale. In: Measures in health "
        "psychology. Windsor: NFER-NELSON; 1995. p. 35-7.",
        "10 items scored 1-4; range is the total score.",
    ),
    (
        "ismi",
        "Internalized Stigma of Mental Illness scale",
        "ISMI",
        "internalized-stigma",
        False,
        1.0,
        4.0,
        "Ritsher JB, Otilingam PG, Grajales M. Internalized stigma of mental illness: "
        "psychometric properties of a new measure. Psychiatry Res. 2003;121:31-49.",
        "29 items; range is the mean item score; lower is better.",
    ),
    (
        "ismi-10",
        "Internalized Stigma of Mental Illness scale, 10-item version",
        "ISMI-10",
        "internalized-stigma",
        False,
        1.0,
        4.0,
        "Boyd JE, Otilingam PG, DeForge BR. Brief version of the Internalized Stigma of Mental "
        "Illness (ISMI) scale. Psychiatr Rehabil J. 2014;37:17-23.",
        "Lower is better.",
    ),
    (
        "self-stigma-of-mental-illness-scale",
        "Self-Stigma of Mental Illness Scale",
        "SSMIS",
        "internalized-stigma",
        False,
        1.0,
        9.0,
        "Corrigan PW, Watson AC, Barr L. The self-stigma of mental illness: implications for "
        "self-esteem and self-efficacy. J Soc Clin Psychol. 2006;25:875-84.",
        "40 items; range is the mean item score; lower is better.",
    ),
]


def _create_tables() -> tuple[sa.Table, ...]:
    def term(name: str, *extra: sa.schema.SchemaItem) -> sa.Table:
        return op.create_table(
            name,
            sa.Column("slug", sa.String(64), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            *extra,
            sa.PrimaryKeyConstraint("slug", name=op.f(f"pk_{name}")),
        )

    outcome = term("outcome", sa.Column("position", sa.Integer(), nullable=False))
    category = term("intervention_category", sa.Column("position", sa.Integer(), nullable=False))
    comparator = term("comparator", sa.Column("position", sa.Integer(), nullable=False))
    design = term(
        "study_design",
        sa.Column("randomized", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    quality = term(
        "quality_rating",
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.UniqueConstraint("rank", name=op.f("uq_quality_rating_rank")),
    )
    instrument = op.create_table(
        "instrument",
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("abbreviation", sa.String(50), nullable=True),
        sa.Column("outcome_slug", sa.String(64), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("scale_min", sa.Float(), nullable=True),
        sa.Column("scale_max", sa.Float(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "scale_min IS NULL OR scale_max IS NULL OR scale_min < scale_max",
            name=op.f("ck_instrument_scale_range"),
        ),
        sa.ForeignKeyConstraint(
            ["outcome_slug"], ["outcome.slug"], name=op.f("fk_instrument_outcome_slug_outcome")
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_instrument")),
    )
    op.create_index(op.f("ix_instrument_outcome_slug"), "instrument", ["outcome_slug"])
    return outcome, category, comparator, design, quality, instrument


def _positioned(rows: list[tuple[str, str, str]]) -> list[dict[str, object]]:
    return [
        {"slug": s, "name": n, "description": d, "position": i}
        for i, (s, n, d) in enumerate(rows, start=1)
    ]


def upgrade() -> None:
    outcome, category, comparator, design, quality, instrument = _create_tables()
    op.bulk_insert(outcome, _positioned(OUTCOMES))
    op.bulk_insert(category, _positioned(CATEGORIES))
    op.bulk_insert(comparator, _positioned(COMPARATORS))
    op.bulk_insert(
        design,
        [
            {"slug": s, "name": n, "description": d, "randomized": r, "position": i}
            for i, (s, n, d, r) in enumerate(DESIGNS, start=1)
        ],
    )
    op.bulk_insert(
        quality, [{"slug": s, "name": n, "description": d, "rank": r} for s, n, d, r in QUALITY]
    )
    keys = (
        "slug",
        "name",
        "abbreviation",
        "outcome_slug",
        "higher_is_better",
        "scale_min",
        "scale_max",
        "reference",
        "notes",
    )
    op.bulk_insert(instrument, [dict(zip(keys, row, strict=True)) for row in INSTRUMENTS])


def downgrade() -> None:
    refuse_to_drop_rows(
        [
            "instrument",
            "quality_rating",
            "study_design",
            "comparator",
            "intervention_category",
            "outcome",
        ],
        seeded={
            "outcome": [row[0] for row in OUTCOMES],
            "intervention_category": [row[0] for row in CATEGORIES],
            "comparator": [row[0] for row in COMPARATORS],
            "study_design": [row[0] for row in DESIGNS],
            "quality_rating": [row[0] for row in QUALITY],
            "instrument": [row[0] for row in INSTRUMENTS],
        },
    )
    op.drop_index(op.f("ix_instrument_outcome_slug"), table_name="instrument")
    for table in (
        "instrument",
        "quality_rating",
        "study_design",
        "comparator",
        "intervention_category",
        "outcome",
    ):
        op.drop_table(table)
