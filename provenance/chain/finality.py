"""Anchor finality: confirmations, and reorgs detected by block hash.

An anchor is a transaction we saw mined in a block. Later it may be deeper (more
confirmations), re-included in another block after a reorg (moved), or gone from the canonical
chain (dropped) — then the caller submits it again; re-submission is idempotent because the
contract refuses a version or checkpoint size twice and we check what the chain holds first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eth_account.signers.local import LocalAccount

from provenance.chain.backends import rpc_errors
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import TxResult
from provenance.errors import ChainError
from provenance.manifest import SignedManifest


class AnchorState(StrEnum):
    PENDING = "pending"  # mined, fewer confirmations than required
    CONFIRMED = "confirmed"
    MOVED = "moved"  # re-included in a different block after a reorg
    DROPPED = "dropped"  # not on the canonical chain any more


@dataclass(frozen=True)
class AnchorRef:
    tx_hash: bytes
    block_number: int
    block_hash: bytes

    @classmethod
    def of(cls, result: TxResult) -> AnchorRef:
        return cls(result.tx_hash, result.block_number, result.block_hash)


@dataclass(frozen=True)
class AnchorStatus:
    state: AnchorState
    ref: AnchorRef  # where the transaction is now (unchanged when dropped)
    confirmations: int


def check(client: RegistryClient, ref: AnchorRef, required: int) -> AnchorStatus:
    """Where ``ref``'s transaction stands on the canonical chain now."""
    receipt = client.receipt(ref.tx_hash)
    if receipt is None or receipt["status"] != 1:
        return AnchorStatus(AnchorState.DROPPED, ref, 0)
    now = AnchorRef(ref.tx_hash, int(receipt["blockNumber"]), bytes(receipt["blockHash"]))
    with rpc_errors():
        canonical = client.w3.eth.get_block(now.block_number)
    if bytes(canonical["hash"]) != now.block_hash:  # the node's receipt index lags a reorg
        return AnchorStatus(AnchorState.DROPPED, ref, 0)
    confirmations = client.block_number() - now.block_number + 1
    if now.block_hash != ref.block_hash:
        return AnchorStatus(AnchorState.MOVED, now, confirmations)
    state = AnchorState.CONFIRMED if confirmations >= required else AnchorState.PENDING
    return AnchorStatus(state, now, confirmations)


def anchor_snapshot_once(
    client: RegistryClient, signed: SignedManifest, sender: LocalAccount
) -> TxResult | None:
    """Anchor ``signed`` unless the chain already holds exactly it (then None).

    Raises:
        ChainError: the chain holds a *different* snapshot for this version.
    """
    m = signed.manifest
    existing = client.snapshot_of(m.dataset_id, m.version)
    if existing is not None:
        if (existing.root, existing.size, existing.signer) == (m.root, m.size, signed.signer):
            return None
        raise ChainError(f"{m.dataset} v{m.version} is anchored with another root", code="chain.conflict")
    return client.anchor_snapshot(signed, sender)
