"""Lineage edges between complete snapshots, both ways: a child's parents and a parent's children."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from provenance.server.store.database import Database
from provenance.server.store.models import DatasetRow, LineageEdgeRow, SnapshotRow


class LineageRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_edges(self, s: Session, child_pk: int, parent_pks: list[int]) -> None:
        """Record a completing snapshot's parents (in the transaction that completes it)."""
        s.add_all(LineageEdgeRow(child_pk=child_pk, parent_pk=p) for p in parent_pks)
        s.flush()

    def neighbours(self, s: Session, snapshot_pk: int, direction: str) -> list[tuple[int, str, int]]:
        """``(snapshot pk, dataset name, version)`` of the parents (``up``) or children (``down``)."""
        near = LineageEdgeRow.parent_pk if direction == "up" else LineageEdgeRow.child_pk
        far = LineageEdgeRow.child_pk if direction == "up" else LineageEdgeRow.parent_pk
        snap = aliased(SnapshotRow)
        query = (
            select(snap.id, DatasetRow.name, snap.version)
            .join(LineageEdgeRow, near == snap.id)
            .join(DatasetRow, DatasetRow.id == snap.dataset_pk)
            .where(far == snapshot_pk)
            .order_by(DatasetRow.name, snap.version)
        )
        return [(int(pk), str(name), int(version)) for pk, name, version in s.execute(query)]
