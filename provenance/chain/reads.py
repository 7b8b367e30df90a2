"""What a verifier reads from a chain, whoever reads it.

Two readers implement these protocols: :mod:`provenance.chain.registry_reads` over plain
JSON-RPC (what ``provenance verify`` and ``provenance check`` use: light to import), and
:mod:`provenance.chain.web3_reads` over a web3 connection (what the service uses: its chain may
be the in-process one, which has no URL). :class:`~provenance.chain.verifier.ChainVerifier`
decides with either; the tests hold both to the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class SnapshotRecord:
    root: bytes
    size: int
    signer: str
    block_number: int
    retracted: bool


@dataclass(frozen=True)
class CheckpointRecord:
    index: int
    size: int
    root: bytes


@dataclass(frozen=True)
class Receipt:
    """A transaction's receipt on the canonical chain, as far as a verifier needs it."""

    block_hash: bytes
    block_number: int
    status: int
    to: str | None
    logs: Any  # in the form the reader that fetched it decodes events from


class RegistryReads(Protocol):
    """The registry's state and history, read at the node's latest block."""

    @property
    def address(self) -> str: ...

    def source_status(self, signer: str) -> int: ...

    def is_authorized_signer(self, dataset_id: bytes, signer: str) -> bool: ...

    def snapshot_of(self, dataset_id: bytes, version: int) -> SnapshotRecord | None: ...

    def latest_checkpoint(self) -> CheckpointRecord | None: ...

    def is_log_key(self, verifier_key: str) -> bool: ...

    def is_retracted(self, dataset_id: bytes, version: int, root: bytes) -> bool: ...

    def dispute_count(self, dataset_id: bytes, version: int, root: bytes) -> int: ...

    def receipt(self, tx_hash: bytes) -> Receipt | None: ...

    def events(self, name: str, receipt: Receipt) -> list[dict[str, Any]]: ...


class ChainReads(Protocol):
    """One node: its chain id and head, its blocks, and any registry deployed on it."""

    def chain_id(self) -> int: ...

    def block_number(self) -> int: ...

    def block(self, number: int) -> tuple[bytes, int] | None:
        """(hash, timestamp) of block ``number``, or None when the node has no such block."""
        ...

    def registry(self, address: str) -> RegistryReads: ...
