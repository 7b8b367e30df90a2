"""anchors.checkpoint_index: the on-chain index of an anchored checkpoint

The registry keeps only its latest checkpoint in storage; older ones are found by their
CheckpointAnchored log, whose index is a topic. Bundles carry it (anchor.checkpointIndex).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkpoint_index", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.drop_column("checkpoint_index")
