"""Lineage edges between complete snapshots, both ways: a child's parents and a parent's children."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from provenance.server.store.database import Database
from provenance.server.store.models import DatasetRow, LineageEdgeRow, RecordBlockRow, SnapshotRow


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

    def citing_records(self, s: Session, snapshot_pk: int, leaf: bytes) -> list[list[Any]]:
        """Key values of the records of ``snapshot_pk`` whose refs pin ``leaf``.

        A scan of the snapshot's record blocks (a block is skipped unless the pinned-leaf text
        occurs in it): linear in the citing snapshot's size, which an index of refs would avoid.
        """
        needle = b'"leaf":"0x' + leaf.hex().encode() + b'"'
        out: list[list[Any]] = []
        query = (
            select(RecordBlockRow.entries, RecordBlockRow.keys)
            .where(RecordBlockRow.snapshot_pk == snapshot_pk)
            .order_by(RecordBlockRow.block)
        )
        for entries, keys in s.execute(query):
            blob = bytes(entries)
            if needle not in blob:
                continue
            for entry, key in zip(blob.split(b"\n"), bytes(keys).split(b"\n"), strict=True):
                if needle in entry:
                    out.append(json.loads(key))
        return out
