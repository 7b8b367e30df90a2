"""lineage_edges: each derived snapshot's parents, so lineage is walked downstream too

A child's parents are in its signed manifest; the table indexes them both ways ("which ratings
used this price snapshot?"). Existing snapshots are backfilled from their manifests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_edges",
        sa.Column("child_pk", sa.Integer(), nullable=False),
        sa.Column("parent_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["child_pk"], ["snapshots.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_pk"], ["snapshots.id"]),
        sa.PrimaryKeyConstraint("child_pk", "parent_pk"),
    )
    op.create_index(op.f("ix_lineage_edges_parent_pk"), "lineage_edges", ["parent_pk"], unique=False)
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT s.id, s.signed_manifest FROM snapshots s WHERE s.state = 'complete'"
            " AND s.signed_manifest IS NOT NULL"
        )
    ).fetchall()
    for child_pk, text in rows:
        for parent in json.loads(text)["manifest"].get("parents", []):
            found = conn.execute(
                sa.text(
                    "SELECT s.id FROM snapshots s JOIN datasets d ON d.id = s.dataset_pk"
                    " WHERE d.name = :name AND s.version = :version AND s.state = 'complete'"
                ),
                {"name": parent.get("dataset"), "version": parent["version"]},
            ).first()
            if found is not None:
                conn.execute(
                    sa.text("INSERT INTO lineage_edges (child_pk, parent_pk) VALUES (:c, :p)"),
                    {"c": child_pk, "p": found[0]},
                )


def downgrade() -> None:
    op.drop_index(op.f("ix_lineage_edges_parent_pk"), table_name="lineage_edges")
    op.drop_table("lineage_edges")
