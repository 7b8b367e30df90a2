"""A source's track record: what it published and how that went, from the chain's events and the
published snapshots only, so that anyone can recompute every figure (docs/track-record.md).

- **published**: complete snapshots whose signed manifest the source signed;
- **anchored**: those the chain anchors — a direct snapshot by a ``SnapshotAnchored`` event
  naming the source, a checkpointed one by the first ``CheckpointAnchored`` whose log size
  covers its log index;
- **anchor delay**: the anchoring block's timestamp minus the manifest's ``createdAt``;
- **late**: a version whose ``createdAt`` is more than the dataset's declared cadence (the
  ``cadence`` of its published verification policy) after the previous version's;
- **retractions** and **disputes**: ``SnapshotRetracted`` / ``LoggedSnapshotRetracted`` and
  ``SnapshotDisputed`` events on the source's snapshots;
- **rule failures**: v2 manifests whose signed quality summary lists failed rules;
- **key rotations**: ``SignerAuthorized`` and ``SignerRemoved`` events on the datasets the
  source claimed (``DatasetClaimed``); its status is ``sourceStatus`` on the registry.
"""

from __future__ import annotations

import bisect
import itertools
import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils.address import to_checksum_address

from provenance.datasets import dataset_id
from provenance.errors import InputError, NotFoundError, ServiceUnavailable
from provenance.manifest import Manifest
from provenance.policy import POLICY_PREFIX

if TYPE_CHECKING:
    from provenance.chain.registry import RegistryClient
    from provenance.server.ledger import Ledger


@dataclass(frozen=True)
class Published:
    manifest: Manifest
    log_index: int | None
    mode: str  # direct | checkpoint


class TrackRecord:
    """A use of the ledger (its published snapshots and its chain link)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record(self, address: str) -> dict[str, Any]:
        """Raises: InputError (not an address), ServiceUnavailable (no chain)."""
        try:
            source = to_checksum_address(address)
        except ValueError:
            raise InputError(f"{address!r} is not an address", code="input.bad-address") from None
        if self.ledger.chain is None:
            raise ServiceUnavailable(
                "the track record is read from the chain, and none is configured", code="chain.unavailable"
            )
        client, start = self.ledger.chain.client, self.ledger.chain.deployment.deploy_block
        published = list(self._published(source))
        events = _Events(client, start)
        anchored = {key: events.anchor_time(p, source) for key, p in _keyed(published)}
        return {
            "source": source,
            "status": _status(client, source),
            "published": len(published),
            "anchored": sum(1 for t in anchored.values() if t is not None),
            "anchorDelay": _delays(published, anchored),
            "late": self._late(published),
            "retractions": events.count_about(published, ("SnapshotRetracted", "LoggedSnapshotRetracted")),
            "disputes": events.count_about(published, ("SnapshotDisputed",)),
            "ruleFailures": sum(1 for p in published if p.manifest.quality and not p.manifest.quality.passed),
            "keyRotations": events.rotations(source),
            "howToRecompute": "docs/track-record.md",
        }

    def disputes(self, name: str, version: int) -> list[dict[str, Any]]:
        """The ``SnapshotDisputed`` events on ``name`` v``version`` (its root), oldest first."""
        info = self.ledger.snapshot(name, version)
        if self.ledger.chain is None:
            raise ServiceUnavailable(
                "disputes are read from the chain, and none is configured", code="chain.unavailable"
            )
        events = _Events(self.ledger.chain.client, self.ledger.chain.deployment.deploy_block)
        return [
            {
                "by": e["args"]["by"],
                "reasonHash": "0x" + bytes(e["args"]["reasonHash"]).hex(),
                "evidenceUri": e["args"]["evidenceUri"],
                "txHash": "0x" + bytes(e["transactionHash"]).hex(),
                "blockNumber": e["blockNumber"],
            }
            for e in events.of("SnapshotDisputed")
            if (bytes(e["args"]["datasetId"]), e["args"]["version"], bytes(e["args"]["root"]))
            == (dataset_id(name), version, info.root)
        ]

    def _published(self, source: str) -> Iterator[Published]:
        for ds in self.ledger.datasets():
            if ds.name.startswith(POLICY_PREFIX):
                continue
            for row in self.ledger.versions(ds.name):
                if row.signer == source and row.signed_manifest:
                    manifest = Manifest.from_json(json.loads(row.signed_manifest)["manifest"])
                    yield Published(manifest, row.log_index, ds.anchor_mode)

    def _late(self, published: list[Published]) -> dict[str, int]:
        """Versions later than their dataset's declared cadence (datasets without one: not counted)."""
        by_dataset: dict[str, list[int]] = {}
        for p in published:
            by_dataset.setdefault(p.manifest.dataset, []).append(p.manifest.created_at)
        late = checked = 0
        for name, times in by_dataset.items():
            cadence = self._cadence(name)
            if cadence is None:
                continue
            times.sort()
            checked += len(times) - 1
            late += sum(1 for a, b in itertools.pairwise(times) if b - a > cadence)
        return {"late": late, "checked": checked}

    def _cadence(self, name: str) -> int | None:
        try:
            policy = self.ledger.policies.latest(name)["policy"]
        except NotFoundError:
            return None
        cadence = policy.get("cadence")
        return cadence if isinstance(cadence, int) else None


def _keyed(published: list[Published]) -> Iterator[tuple[tuple[bytes, int], Published]]:
    for p in published:
        yield (p.manifest.dataset_id, p.manifest.version), p


def _status(client: RegistryClient, source: str) -> str:
    return {0: "unknown", 1: "active", 2: "revoked"}.get(client.source_status(source), "unknown")


def _delays(published: list[Published], anchored: dict[tuple[bytes, int], int | None]) -> dict[str, Any]:
    delays = [
        t - p.manifest.created_at for key, p in _keyed(published) if (t := anchored.get(key)) is not None
    ]
    if not delays:
        return {"median": None, "max": None, "measured": 0}
    return {"median": statistics.median(delays), "max": max(delays), "measured": len(delays)}


class _Events:
    """The registry's events since its deployment, read once each, and block times."""

    def __init__(self, client: RegistryClient, start: int) -> None:
        self.client, self.start = client, start
        self._cache: dict[str, list[Any]] = {}
        self._times: dict[int, int] = {}
        self._direct: dict[tuple[bytes, int, str, bytes], int] | None = None
        self._sizes: tuple[list[int], list[int]] | None = None

    def of(self, name: str) -> list[Any]:
        if name not in self._cache:
            self._cache[name] = self.client.find_events(name, self.start)
        return self._cache[name]

    def block_time(self, number: int) -> int:
        if number not in self._times:
            self._times[number] = int(self.client.w3.eth.get_block(number)["timestamp"])
        return self._times[number]

    def anchor_time(self, p: Published, source: str) -> int | None:
        m = p.manifest
        if p.mode == "direct":
            block = self._direct_blocks().get((m.dataset_id, m.version, source, m.root))
            return None if block is None else self.block_time(block)
        if p.log_index is None:
            return None
        sizes, blocks = self._checkpoints()
        at = bisect.bisect_right(sizes, p.log_index)  # the first anchored size covering the index
        return self.block_time(blocks[at]) if at < len(sizes) else None

    def _direct_blocks(self) -> dict[tuple[bytes, int, str, bytes], int]:
        """Each ``SnapshotAnchored`` event's block, by what it anchored (indexed once, not
        searched once per snapshot)."""
        if self._direct is None:
            self._direct = {
                (bytes(a["datasetId"]), a["version"], a["signer"], bytes(a["root"])): e["blockNumber"]
                for e in self.of("SnapshotAnchored")
                for a in (e["args"],)
            }
        return self._direct

    def _checkpoints(self) -> tuple[list[int], list[int]]:
        """Anchored log sizes in increasing order, with each one's block."""
        if self._sizes is None:
            events = sorted(self.of("CheckpointAnchored"), key=lambda e: e["args"]["size"])
            self._sizes = ([e["args"]["size"] for e in events], [e["blockNumber"] for e in events])
        return self._sizes

    def count_about(self, published: list[Published], names: tuple[str, ...]) -> int:
        ours = {(p.manifest.dataset_id, p.manifest.version) for p in published}
        return sum(
            1
            for name in names
            for e in self.of(name)
            if (bytes(e["args"]["datasetId"]), e["args"]["version"]) in ours
        )

    def rotations(self, source: str) -> int:
        claimed = {
            bytes(e["args"]["datasetId"]) for e in self.of("DatasetClaimed") if e["args"]["owner"] == source
        }
        changes = sum(
            1
            for name in ("SignerAuthorized", "SignerRemoved")
            for e in self.of(name)
            if bytes(e["args"]["datasetId"]) in claimed
        )
        return changes
