"""The reads of :mod:`provenance.chain.reads` through a web3 connection: the service's, whose
chain may be the in-process one (no URL to send JSON-RPC to)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from provenance.chain.backends import rpc_errors
from provenance.chain.reads import CheckpointRecord, Receipt, SnapshotRecord
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import Transactor


class Web3Registry:
    """A :class:`~provenance.chain.reads.RegistryReads` over a :class:`RegistryClient`."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self.address = client.address

    def source_status(self, signer: str) -> int:
        return self.client.source_status(signer)

    def is_authorized_signer(self, dataset_id: bytes, signer: str) -> bool:
        return self.client.is_authorized_signer(dataset_id, signer)

    def snapshot_of(self, dataset_id: bytes, version: int) -> SnapshotRecord | None:
        return self.client.snapshot_of(dataset_id, version)

    def latest_checkpoint(self) -> CheckpointRecord | None:
        return self.client.latest_checkpoint()

    def is_log_key(self, verifier_key: str) -> bool:
        return self.client.is_log_key(verifier_key)

    def is_retracted(self, dataset_id: bytes, version: int, root: bytes) -> bool:
        return self.client.is_retracted(dataset_id, version, root)

    def dispute_count(self, dataset_id: bytes, version: int, root: bytes) -> int:
        return self.client.dispute_count(dataset_id, version, root)

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        r = self.client.receipt(tx_hash)
        if r is None:
            return None
        # the whole receipt rides along: web3 decodes events from it (process_receipt)
        return Receipt(bytes(r["blockHash"]), int(r["blockNumber"]), int(r["status"]), r["to"], r)

    def events(self, name: str, receipt: Receipt) -> list[dict[str, Any]]:
        return self.client.events(name, receipt.logs)


class Web3Reads:
    """A :class:`~provenance.chain.reads.ChainReads` over one web3 connection."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.tx = Transactor(w3)

    def chain_id(self) -> int:
        return self.tx.chain_id

    def block_number(self) -> int:
        with rpc_errors():
            return int(self.w3.eth.block_number)

    def block(self, number: int) -> tuple[bytes, int] | None:
        from web3.exceptions import BlockNotFound

        try:
            with rpc_errors():
                block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return bytes(block["hash"]), int(block["timestamp"])

    def registry(self, address: str) -> Web3Registry:
        return Web3Registry(RegistryClient(self.w3, address, self.tx))
