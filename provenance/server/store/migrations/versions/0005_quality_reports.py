"""quality_reports: the quality report of a snapshot whose schema has rules

The report (provenance-quality/v1 JSON, as served) is what the v2 manifest's quality summary
commits to by digest; it is written in the transaction that completes the snapshot.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_reports",
        sa.Column("snapshot_pk", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_pk"], ["snapshots.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_pk"),
    )


def downgrade() -> None:
    op.drop_table("quality_reports")
