"""Trustworthy input: the source of each scale range, new reported forms, stored data warnings.

- ``instrument.scale_source`` says where each seeded instrument's ``scale_min``/``scale_max``
  come from (items x response range, from the instrument's own publication), because the
  plausibility checks of submitted means and SDs now rest on them.
- ``outcome_result`` gains ``reported_accounts_for_clustering`` (null without a cluster design),
  ``estimated`` (the effect rests on an approximation: medians, a p bound, a dichotomised scale)
  and ``data_warnings`` (plausibility warnings, e.g. an SD that looks like an SE), and its
  ``form`` check admits the new reported forms.

Revision ID: 0012
Revises: 0017
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.db.downgrade_guard import DataLossRefusedError, data_loss_allowed

revision: str = "0012"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_FORMS = ("means", "change_scores", "t", "f", "p", "effect_se", "effect_ci")
NEW_FORMS = (
    "means_se",
    "mean_difference",
    "ancova",
    "medians",
    "p_bound",
    "dichotomous",
)

# Each seeded instrument's range as items x response options, from its source. Ranges of
# "mean item score" scales equal the response range; totals are items times it.
SCALE_SOURCES = {
    "empowerment-scale": "28 items scored 1-4 (strongly agree to strongly disagree, reversed "
    "where needed); scored as the mean item score, so 1-4 (Rogers et al. 1997, Psychiatr Serv "
    "48:1042-7).",
    "empowerment-scale-power": "Power-powerlessness subscale of the Empowerment Scale, items "
    "scored 1-4; mean item score 1-4 (Rogers et al. 1997).",
    "boston-empowerment-scale": "The Rogers et al. (1997) Empowerment Scale: 28 items scored "
    "1-4, mean item score 1-4.",
    "dutch-empowerment-scale": "40 items scored 1-5; mean item score 1-5 (Boevink et al. 2017, "
    "Psychiatr Rehabil J).",
    "mental-health-confidence-scale": "16 items scored 1-6; total score 16-96 (Carpinello et al. "
    "2000, Psychiatr Rehabil J 23:236-43).",
    "general-self-efficacy-scale": "10 items scored 1-4; total score 10-40 (Schwarzer and "
    "Jerusalem 1995).",
    "ismi": "29 items scored 1-4; mean item score 1-4 (Ritsher et al. 2003, Psychiatry Res "
    "121:31-49).",
    "ismi-10": "10 items scored 1-4; mean item score 1-4 (Boyd et al. 2014, Psychiatr Rehabil J "
    "37:17-23).",
    "self-stigma-of-mental-illness-scale": "40 items scored 1-9; mean item score 1-9 (Corrigan "
    "et al. 2006, J Soc Clin Psychol 25:875-84).",
}


def _form_check(forms: Sequence[str]) -> str:
    return f"form IN ({', '.join(repr(f) for f in forms)})"


def upgrade() -> None:
    op.add_column("instrument", sa.Column("scale_source", sa.Text(), nullable=True))
    instrument = sa.table("instrument", sa.column("slug"), sa.column("scale_source"))
    for slug, source in SCALE_SOURCES.items():
        op.execute(instrument.update().where(instrument.c.slug == slug).values(scale_source=source))
    with op.batch_alter_table("outcome_result") as batch:
        batch.add_column(sa.Column("reported_accounts_for_clustering", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("data_warnings", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.drop_constraint(op.f("ck_outcome_result_form"), type_="check")
        batch.create_check_constraint(
            op.f("ck_outcome_result_form"), _form_check(OLD_FORMS + NEW_FORMS)
        )


def _refuse_new_forms() -> None:
    """The old form check cannot hold results in the new forms: refuse unless allowed."""
    if data_loss_allowed():
        op.execute(sa.text("DELETE FROM outcome_result WHERE NOT (" + _form_check(OLD_FORMS) + ")"))
        return
    query = sa.text(
        "SELECT count(*) FROM outcome_result WHERE NOT (" + _form_check(OLD_FORMS) + ")"
    )
    held = int(op.get_bind().execute(query).scalar_one())
    if held:
        raise DataLossRefusedError(
            f"Downgrade refused: {held} outcome results use forms revision 0003 does not know. "
            "Back the data up first (lma export FILE), then rerun with -x allow_data_loss=true."
        )


def downgrade() -> None:
    _refuse_new_forms()
    with op.batch_alter_table("outcome_result") as batch:
        batch.drop_constraint(op.f("ck_outcome_result_form"), type_="check")
        batch.create_check_constraint(op.f("ck_outcome_result_form"), _form_check(OLD_FORMS))
        batch.drop_column("data_warnings")
        batch.drop_column("estimated")
        batch.drop_column("reported_accounts_for_clustering")
    op.drop_column("instrument", "scale_source")
