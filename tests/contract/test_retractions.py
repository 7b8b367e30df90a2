"""Signed retractions in both anchoring modes, and disputes (#12).

A directly anchored snapshot is in the registry's storage: `retractSigned` checks a signed
`Retraction` against it. A checkpoint-mode snapshot never was: `retractLogged` is given its
signed manifest and an inclusion proof of the manifest's digest in the latest anchored
checkpoint, so the contract itself knows the snapshot and its source before it accepts the
source's (or an authorised signer's) retraction.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from provenance.manifest import Domain
from provenance.merkle import MerkleTree
from provenance.retraction import Retraction, sign_retraction
from tests.contract.harness import (
    Dataset,
    Keys,
    Roles,
    events,
    make_manifest,
    manifest_tuple,
    revert_name,
    send,
    send_as,
    sign_manifest,
)

pytestmark = pytest.mark.chain
LOGGED = "tm/logged"


def domain(reg: Contract) -> Domain:
    return Domain(reg.w3.eth.chain_id, reg.address)


def retraction_of(m: dict[str, Any], name: str, reason: str = "the 12:00 prices were stale") -> Retraction:
    return Retraction(name, m["version"], m["root"], reason)


def signed(reg: Contract, r: Retraction, key: Any) -> tuple[tuple[Any, ...], bytes]:
    s = sign_retraction(r, domain(reg), key)
    return (r.dataset_id, r.version, r.root, r.reason_hash), s.signature


class Logged:
    """v1 of tm/logged, signed by the source, logged as entry 1 of 5 and checkpointed."""

    def __init__(self, reg: Contract, roles: Roles, source: LocalAccount) -> None:
        self.manifest = make_manifest(LOGGED, 1)
        self.signature = sign_manifest(self.manifest, source.key, reg.w3.eth.chain_id, reg.address)
        digest = bytes(reg.functions.snapshotDigest(manifest_tuple(self.manifest)).call())
        self.tree = MerkleTree.from_leaf_inputs(
            [b"\x01" * 32, digest, b"\x02" * 32, b"\x03" * 32, b"\x04" * 32]
        )
        send(reg.functions.anchorCheckpoint(self.tree.size, self.tree.root, []), roles.primary)

    def call(
        self, reg: Contract, r: Retraction, key: Any, index: int = 1, proof: list[bytes] | None = None
    ) -> Any:
        struct, sig = signed(reg, r, key)
        path = self.tree.inclusion_proof(1) if proof is None else proof
        return reg.functions.retractLogged(
            struct, sig, manifest_tuple(self.manifest), self.signature, index, path
        )


@pytest.fixture
def logged(reg: Contract, roles: Roles, source: LocalAccount, anchorers: None) -> Logged:
    return Logged(reg, roles, source)


def test_the_retraction_digest_is_the_python_one(deployed: Contract) -> None:
    r = retraction_of(make_manifest(LOGGED, 3), LOGGED)
    struct = (r.dataset_id, r.version, r.root, r.reason_hash)
    assert bytes(deployed.functions.retractionDigest(struct).call()) == r.digest(domain(deployed))


def test_a_logged_snapshot_is_retracted_by_its_source(
    reg: Contract, roles: Roles, source: LocalAccount, logged: Logged
) -> None:
    r = retraction_of(logged.manifest, LOGGED)
    assert not reg.functions.isRetracted(r.dataset_id, 1, r.root).call()
    receipt = send(logged.call(reg, r, source.key), roles.relayer)  # anyone relays it
    [event] = events(reg, "LoggedSnapshotRetracted", receipt)
    assert (event["by"], bytes(event["root"]), bytes(event["reasonHash"])) == (
        source.address,
        r.root,
        r.reason_hash,
    )
    assert reg.functions.isRetracted(r.dataset_id, 1, r.root).call()
    assert not reg.functions.isRetracted(r.dataset_id, 1, b"\x09" * 32).call()  # that root only
    assert revert_name(logged.call(reg, r, source.key), roles.relayer) == "AlreadyRetracted"


def test_logged_retraction_refusals(
    reg: Contract, roles: Roles, keys: Keys, source: LocalAccount, logged: Logged
) -> None:
    r = retraction_of(logged.manifest, LOGGED)
    assert revert_name(logged.call(reg, r, keys.stranger.key), roles.relayer) == "NotDatasetSigner"
    assert revert_name(logged.call(reg, r, source.key, index=2), roles.relayer) == "NotInLog"
    assert revert_name(logged.call(reg, r, source.key, proof=[b"\x00" * 32] * 3), roles.relayer) == "NotInLog"
    other = Retraction(LOGGED, 1, b"\x07" * 32, r.reason)
    assert revert_name(logged.call(reg, other, source.key), roles.relayer) == "RetractionMismatch"
    send(reg.functions.revokeSource(source.address), roles.owner)  # a revoked key retracts nothing
    assert revert_name(logged.call(reg, r, source.key), roles.relayer) == "NotDatasetSigner"


def test_nothing_is_in_the_log_before_a_checkpoint(reg: Contract, roles: Roles, source: LocalAccount) -> None:
    m = make_manifest(LOGGED, 1)
    struct, sig = signed(reg, retraction_of(m, LOGGED), source.key)
    manifest_sig = sign_manifest(m, source.key, reg.w3.eth.chain_id, reg.address)
    fn = reg.functions.retractLogged(struct, sig, manifest_tuple(m), manifest_sig, 0, [])
    assert revert_name(fn, roles.relayer) == "NotInLog"


def test_a_direct_snapshot_is_retracted_by_a_signed_retraction(
    reg: Contract, roles: Roles, keys: Keys, source: LocalAccount, dataset: Dataset
) -> None:
    name, m = "tm/ratings/daily", dataset.v1
    r = retraction_of(m, name)
    assert (
        revert_name(reg.functions.retractSigned(*signed(reg, r, keys.stranger.key)), roles.relayer)
        == "NotDatasetSigner"
    )
    wrong = Retraction(name, 1, b"\x07" * 32, r.reason)
    assert (
        revert_name(reg.functions.retractSigned(*signed(reg, wrong, source.key)), roles.relayer)
        == "RetractionMismatch"
    )
    receipt = send(reg.functions.retractSigned(*signed(reg, r, source.key)), roles.relayer)
    assert [e["by"] for e in events(reg, "SnapshotRetracted", receipt)] == [source.address]
    assert reg.functions.isRetracted(r.dataset_id, 1, m["root"]).call()
    assert reg.functions.snapshotOf(r.dataset_id, 1).call()[4] is True
    fn = reg.functions.retractSigned(*signed(reg, r, source.key))
    assert revert_name(fn, roles.relayer) == "AlreadyRetracted"


def test_anyone_may_dispute(reg: Contract, w3: Web3, keys: Keys) -> None:
    key = (Web3.keccak(text=LOGGED), 1, b"\x05" * 32)
    assert reg.functions.disputeCount(*key).call() == 0
    receipt = send_as(
        w3, reg.functions.dispute(*key, b"\x06" * 32, "https://example.org/evidence"), keys.stranger
    )
    [event] = events(reg, "SnapshotDisputed", receipt)
    assert (event["by"], event["evidenceUri"]) == (keys.stranger.address, "https://example.org/evidence")
    send_as(w3, reg.functions.dispute(*key, b"\x06" * 32, ""), keys.other)
    assert reg.functions.disputeCount(*key).call() == 2
