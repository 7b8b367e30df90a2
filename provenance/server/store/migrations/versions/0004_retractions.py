"""retractions: a snapshot's reason and signed Retraction; anchors.retraction_pk relays it

A retraction is a transaction the ledger owes the chain, like an anchor: it goes through the
same outbox (kind "retraction"), so a crash never loses or doubles it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retractions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_pk", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("signed_retraction", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_pk"], ["snapshots.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("snapshot_pk"),
    )
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retraction_pk", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_anchors_retraction_pk", ["retraction_pk"])
        batch_op.create_foreign_key("fk_anchors_retraction_pk", "retractions", ["retraction_pk"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.drop_constraint("fk_anchors_retraction_pk", type_="foreignkey")
        batch_op.drop_constraint("uq_anchors_retraction_pk", type_="unique")
        batch_op.drop_column("retraction_pk")
    op.drop_table("retractions")
