"""Lineage queries over the store: a version's parents and children, a datum's upstream records
with their proofs (the walking itself is the pure ``provenance.lineage.walk``)."""

from __future__ import annotations

import json
from typing import Any

from provenance.config import Settings
from provenance.errors import InputError
from provenance.lineage import walk
from provenance.merkle import hash_leaf
from provenance.records.canonical import key_text
from provenance.server.prover import Prover
from provenance.server.store.database import Database
from provenance.server.store.lineage import LineageRepository
from provenance.server.store.snapshots import SnapshotInfo, SnapshotRepository


class LineageQueries:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        snapshots: SnapshotRepository,
        lineage: LineageRepository,
        prover: Prover,
    ) -> None:
        self.settings, self.db, self.snapshots, self.lineage, self.prover = (
            settings,
            db,
            snapshots,
            lineage,
            prover,
        )

    def snapshot_lineage(
        self, name: str, version: int, *, direction: str = "up", depth: int = 1
    ) -> dict[str, Any]:
        """A version's parents (``up``) or children (``down``) to ``depth`` steps, as nodes and
        (child, parent) edges; ``truncated`` when the node limit cut the graph.

        Raises:
            InputError: ``lineage.depth-limit`` beyond the configured depth.
            NotFoundError: no such snapshot.
        """
        self._check_depth(depth)
        with self.db.session() as s:
            start = self.snapshots.get(s, name, version)
            graph = walk(
                (start.pk, name, version),
                lambda node: self.lineage.neighbours(s, node[0], direction),
                upstream=direction == "up",
                depth=depth,
                max_nodes=self.settings.max_lineage_nodes,
            )
            nodes = [_node_json(self.snapshots.get(s, n, v)) for _, n, v in graph.nodes]
        return {
            "direction": direction,
            "depth": depth,
            "nodes": nodes,
            "edges": [{"child": f"{c[1]}@{c[2]}", "parent": f"{p[1]}@{p[2]}"} for c, p in graph.edges],
            "truncated": graph.truncated,
        }

    def record_lineage(
        self, name: str, version: int, key_values: list[Any], *, depth: int = 1, direction: str = "up"
    ) -> dict[str, Any]:
        """A datum with every upstream record to ``depth`` steps (``up``), or every record that
        cites it, and those that cite them (``down``): a ``provenance-proofs/v1`` collection whose
        record 0 is the datum (see :meth:`Prover.record_lineage`).

        Raises:
            InputError: ``lineage.depth-limit`` beyond the configured depth.
        """
        self._check_depth(depth)
        limit = self.settings.max_lineage_nodes
        if direction == "up":
            return self.prover.record_lineage(name, version, key_values, depth=depth, max_nodes=limit)
        start = (name, version, key_text(key_values), tuple(key_values))
        graph = walk(start, self._citing, upstream=False, depth=depth, max_nodes=limit)
        return self.prover.collection_of(list(graph.nodes), depth=depth, truncated=graph.truncated)

    def _citing(
        self, node: tuple[str, int, bytes, tuple[Any, ...]]
    ) -> list[tuple[str, int, bytes, tuple[Any, ...]]]:
        """The records that cite ``node``: in the snapshots derived from its snapshot."""
        name, version, key, _ = node
        with self.db.session() as s:
            info = self.snapshots.get(s, name, version)
            _, entry = self.snapshots.find_record(info.pk, key)
            leaf = hash_leaf(entry)
            out = []
            for child_pk, child, child_version in self.lineage.neighbours(s, info.pk, "down"):
                for keys in self.lineage.citing_records(s, child_pk, leaf):
                    out.append((child, child_version, key_text(keys), tuple(keys)))
        return out

    def _check_depth(self, depth: int) -> None:
        if not 1 <= depth <= self.settings.max_lineage_depth:
            raise InputError(
                f"depth must be 1..{self.settings.max_lineage_depth}", code="lineage.depth-limit"
            )


def _node_json(info: SnapshotInfo) -> dict[str, Any]:
    manifest = json.loads(info.signed_manifest)["manifest"]
    return {
        "id": f"{info.dataset}@{info.version}",
        "dataset": info.dataset,
        "version": info.version,
        "root": "0x" + info.root.hex(),
        "size": info.size,
        "signer": info.signer,
        "transform": manifest["transform"],
    }
