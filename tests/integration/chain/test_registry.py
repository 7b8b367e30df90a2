"""Every contract path and every refusal, on the embedded chain and on anvil."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest
from eth_account import Account

from provenance.chain.artifact import registry_artifact
from provenance.datasets import dataset_id
from provenance.manifest import SECP256K1_N, Domain
from provenance.merkle import EMPTY_ROOT, MerkleTree, hash_leaf
from tests import factories as f
from tests.integration.chain.conftest import Env, revert_of
from tests.vectors import VECTORS


def test_deployed_code_is_the_shipped_artifact(env: Env) -> None:
    code = bytes(env.backend.w3.eth.get_code(env.reg.address))
    art = registry_artifact()
    assert art.immutables, "the artifact must list EIP712's immutable ranges"
    assert art.matches_deployed(code)
    assert not art.matches_deployed(code[:-1] + bytes([code[-1] ^ 1]))
    assert env.reg.contract.functions.owner().call() == env.owner.address


def test_sources_register_and_revoke(env: Env) -> None:
    other = Account.create()
    assert env.reg.source_status(other.address) == 0
    assert (
        revert_of(lambda: env.reg.register_source(other.address, env.relayer)) == "OwnableUnauthorizedAccount"
    )
    r = env.reg.register_source(other.address, env.owner)
    assert env.reg.events("SourceRegistered", r.receipt)[0]["source"] == other.address
    assert revert_of(lambda: env.reg.register_source(other.address, env.owner)) == "SourceAlreadyActive"
    assert (
        revert_of(lambda: env.reg.revoke_source(other.address, env.relayer)) == "OwnableUnauthorizedAccount"
    )
    r = env.reg.revoke_source(other.address, env.owner)
    assert env.reg.events("SourceRevoked", r.receipt)[0]["source"] == other.address
    assert env.reg.source_status(other.address) == 2
    assert revert_of(lambda: env.reg.register_source(other.address, env.owner)) == "SourceIsRevoked"


def test_anchor_snapshot_and_versions(env: Env) -> None:
    v1 = f.snapshot().manifest
    signed = env.sign(v1)
    assert env.reg.snapshot_digest(v1) == v1.digest(env.domain)
    r = env.reg.anchor_snapshot(signed, env.relayer)  # a relayer pays; the signature is the authority
    event = env.reg.events("SnapshotAnchored", r.receipt)[0]
    assert (bytes(event["datasetId"]), event["version"], event["signer"]) == (
        v1.dataset_id,
        1,
        env.source.address,
    )
    assert bytes(event["digest"]) == v1.digest(env.domain)
    record = env.reg.snapshot_of(v1.dataset_id, 1)
    assert record is not None
    assert (record.root, record.size, record.signer, record.retracted) == (
        v1.root,
        v1.size,
        env.source.address,
        False,
    )
    assert record.block_number == r.block_number
    assert env.reg.dataset_owner(v1.dataset_id) == env.source.address
    assert env.reg.latest_version(v1.dataset_id) == 1
    # replayed and skipped versions
    assert revert_of(lambda: env.reg.anchor_snapshot(signed, env.relayer)) == "UnexpectedVersion"
    v3 = dataclasses.replace(v1, version=3)
    assert revert_of(lambda: env.reg.anchor_snapshot(env.sign(v3), env.relayer)) == "UnexpectedVersion"
    v2 = dataclasses.replace(v1, version=2, root=b"\x02" * 32)
    env.reg.anchor_snapshot(env.sign(v2), env.relayer)
    assert env.reg.latest_version(v1.dataset_id) == 2
    assert env.reg.snapshot_of(v1.dataset_id, 3) is None


def test_signatures_refused(env: Env) -> None:
    m = f.snapshot(dataset="tm/sig/tests").manifest
    good = env.sign(m)
    stranger = Account.create()
    unregistered = env.sign(m, key=stranger.key)
    assert revert_of(lambda: env.reg.anchor_snapshot(unregistered, env.relayer)) == "SourceNotActive"
    # signatures for another chain id or another contract recover another address
    other_chain = env.sign(m, domain=Domain(env.reg.chain_id + 1, env.reg.address))
    other_contract = env.sign(m, domain=Domain(env.reg.chain_id, "0x" + "11" * 20))
    for wrong in (other_chain, other_contract):
        forced = dataclasses.replace(good, signature=wrong.signature)
        assert (
            revert_of(lambda forced=forced: env.reg.anchor_snapshot(forced, env.relayer)) == "SourceNotActive"
        )
    sig = good.signature
    s = int.from_bytes(sig[32:64], "big")
    high_s = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    cases = {
        high_s: "InvalidSignatureS",
        sig[:64]: "InvalidSignatureLength",
        sig + b"\x00": "InvalidSignatureLength",
        sig[:64] + b"\x1d": "InvalidSignature",
        b"": "InvalidSignatureLength",
    }
    fn = env.reg.contract.functions
    from provenance.chain.registry import snapshot_tuple

    for bad, error in cases.items():
        call = fn.anchorSnapshot(snapshot_tuple(m), bad)
        assert revert_of(lambda call=call: env.reg.tx.send(call, env.relayer)) == error
    # a revoked source cannot anchor, even for a dataset it owns
    env.reg.anchor_snapshot(good, env.relayer)
    env.reg.revoke_source(env.source.address, env.owner)
    v2 = env.sign(dataclasses.replace(m, version=2))
    assert revert_of(lambda: env.reg.anchor_snapshot(v2, env.relayer)) == "SourceIsRevoked"
    # a size beyond what the registry stores is refused, not truncated
    env.reg.register_source(stranger.address, env.owner)
    huge = dataclasses.replace(f.snapshot(dataset="tm/huge").manifest, size=2**56)
    assert (
        revert_of(lambda: env.reg.anchor_snapshot(env.sign(huge, key=stranger.key), env.relayer))
        == "SizeTooLarge"
    )


def test_dataset_signers_and_key_rotation(env: Env) -> None:
    m = f.snapshot(dataset="tm/rotation").manifest
    env.reg.anchor_snapshot(env.sign(m), env.relayer)
    new_key = Account.create()
    env.fund(env.source)
    # a stranger, or a registered source that does not own the dataset, cannot manage its signers
    assert (
        revert_of(lambda: env.reg.authorize_signer(m.dataset_id, new_key.address, env.relayer))
        == "NotDatasetOwner"
    )
    r = env.reg.authorize_signer(m.dataset_id, new_key.address, env.source)
    assert env.reg.events("SignerAuthorized", r.receipt)[0]["signer"] == new_key.address
    assert env.reg.is_authorized_signer(m.dataset_id, new_key.address)
    assert revert_of(lambda: env.reg.authorize_signer(m.dataset_id, new_key.address, env.source)) == (
        "SignerAlreadyAuthorized"
    )
    v2 = dataclasses.replace(m, version=2)
    env.reg.anchor_snapshot(env.sign(v2, key=new_key.key), env.relayer)
    assert env.reg.snapshot_of(m.dataset_id, 2).signer == new_key.address  # type: ignore[union-attr]
    # the rotated key cannot manage signers; the owner removes it
    env.fund(new_key)
    assert (
        revert_of(lambda: env.reg.remove_signer(m.dataset_id, new_key.address, new_key)) == "NotDatasetOwner"
    )
    env.reg.remove_signer(m.dataset_id, new_key.address, env.source)
    v3 = dataclasses.replace(m, version=3)
    assert revert_of(lambda: env.reg.anchor_snapshot(env.sign(v3, key=new_key.key), env.relayer)) == (
        "NotDatasetSigner"
    )
    assert revert_of(lambda: env.reg.remove_signer(m.dataset_id, new_key.address, env.source)) == (
        "SignerNotAuthorized"
    )
    # another registered source cannot sign for a dataset it does not own
    other = Account.create()
    env.reg.register_source(other.address, env.owner)
    assert revert_of(lambda: env.reg.anchor_snapshot(env.sign(v3, key=other.key), env.relayer)) == (
        "NotDatasetSigner"
    )


def test_retract(env: Env) -> None:
    m = f.snapshot(dataset="tm/retract").manifest
    env.reg.anchor_snapshot(env.sign(m), env.relayer)
    reason = b"\x07" * 32
    assert revert_of(lambda: env.reg.retract(m.dataset_id, 1, reason, env.relayer)) == "NotDatasetSigner"
    env.fund(env.source)
    assert revert_of(lambda: env.reg.retract(m.dataset_id, 2, reason, env.source)) == "SnapshotNotFound"
    r = env.reg.retract(m.dataset_id, 1, reason, env.source)
    event = env.reg.events("SnapshotRetracted", r.receipt)[0]
    assert (event["by"], bytes(event["reasonHash"])) == (env.source.address, reason)
    assert env.reg.snapshot_of(m.dataset_id, 1).retracted  # type: ignore[union-attr]
    assert revert_of(lambda: env.reg.retract(m.dataset_id, 1, reason, env.source)) == "AlreadyRetracted"


def test_checkpoints_append_only(env: Env) -> None:
    log = MerkleTree.from_leaf_inputs([i.to_bytes(4, "big") for i in range(300)])
    reg, a = env.reg, env.anchorer
    assert reg.latest_checkpoint() is None
    assert revert_of(lambda: reg.anchor_checkpoint(5, log.root_at(5), [], env.relayer)) == "NotAnchorer"
    assert revert_of(lambda: reg.anchor_checkpoint(0, EMPTY_ROOT, [], a)) == "EmptyCheckpoint"
    assert (
        revert_of(lambda: reg.anchor_checkpoint(5, log.root_at(5), [log.root_at(5)], a)) == "UnexpectedProof"
    )
    prev = 5
    r = reg.anchor_checkpoint(prev, log.root_at(prev), [], a)
    assert reg.events("CheckpointAnchored", r.receipt)[0]["size"] == prev
    for size in (6, 8, 13, 64, 100, 257, 300):
        proof = log.consistency_proof(prev, size)
        assert (
            revert_of(lambda: reg.anchor_checkpoint(prev, log.root_at(prev), [], a))
            == "CheckpointSizeUnchanged"
        )
        assert revert_of(lambda: reg.anchor_checkpoint(prev - 1, log.root_at(prev - 1), [], a)) == (
            "CheckpointSizeDecreased"
        )
        if proof:
            assert revert_of(
                lambda proof=proof: reg.anchor_checkpoint(size, log.root_at(size), proof[:-1], a)
            ) == ("InvalidConsistencyProof")
        forged = MerkleTree.from_leaf_inputs([b"fork"] + [i.to_bytes(4, "big") for i in range(1, size)])
        assert revert_of(
            lambda forged=forged, proof=proof: reg.anchor_checkpoint(size, forged.root, proof, a)
        ) == ("InvalidConsistencyProof")
        assert not reg.verify_checkpoint(size, log.root_at(size), [])  # not anchored yet
        reg.anchor_checkpoint(size, log.root_at(size), proof, a)
        event = reg.find_event("CheckpointAnchored", 0, size=size)
        assert bytes(event["args"]["root"]) == log.root_at(size)
        assert reg.verify_checkpoint(size, log.root_at(size), [])
        assert not reg.verify_checkpoint(size, forged.root, [])
        prev = size
    latest = reg.latest_checkpoint()
    assert latest is not None
    assert (latest.index, latest.size, latest.root) == (7, 300, log.root)
    assert reg.checkpoint_count() == 8
    assert reg.find_event("CheckpointAnchored", 0, size=7) is None
    assert reg.find_event("CheckpointAnchored", 0, index=4)["args"]["size"] == 64
    # Only the latest root is stored; any log size, anchored or not, is checked against it with
    # a consistency proof, and a forged history or a wrong proof is refused.
    for m in (1, 5, 7, 64, 299):
        proof = log.consistency_proof(m, 300)
        assert reg.verify_checkpoint(m, log.root_at(m), proof)
        assert not reg.verify_checkpoint(m, hash_leaf(b"forged"), proof)
        assert not reg.verify_checkpoint(m, log.root_at(m), proof[:-1])
        assert not reg.verify_checkpoint(m, log.root_at(m), [*proof[:-1], b"\x00" * 32])
    assert not reg.verify_checkpoint(0, EMPTY_ROOT, [])
    assert not reg.verify_checkpoint(301, log.root, [])
    assert not reg.verify_checkpoint(300, log.root, [log.root])
    # disabling the anchorer takes effect at once
    reg.set_anchorer(a.address, False, env.owner)
    assert revert_of(lambda: reg.anchor_checkpoint(301, b"\x01" * 32, [b"\x02" * 32], a)) == "NotAnchorer"


def test_verify_inclusion_and_consistency_views(env: Env) -> None:
    reg = env.reg
    for n in (1, 2, 3, 7, 8, 100):
        tree = MerkleTree.from_leaf_inputs([i.to_bytes(2, "big") for i in range(n)])
        for i in {0, n // 2, n - 1}:
            leaf = hash_leaf(i.to_bytes(2, "big"))
            proof = tree.inclusion_proof(i)
            assert reg.verify_inclusion(tree.root, n, i, leaf, proof)
            if proof:
                assert not reg.verify_inclusion(tree.root, n, i, leaf, [*proof[:-1], b"\x00" * 32])
            assert not reg.verify_inclusion(tree.root, n, i, hash_leaf(b"other"), proof)
        assert not reg.verify_inclusion(tree.root, n, n, hash_leaf(b"x"), [])
        for m in (1, n // 2, n):
            if 0 < m <= n:
                assert reg.verify_consistency(m, n, tree.root_at(m), tree.root, tree.consistency_proof(m))
    # the shared vectors through the contract (those whose hashes fit bytes32)
    checked = 0
    for path in sorted((VECTORS / "rfc9162" / "inclusion").glob("*/*.json"))[:40]:
        case = json.loads(path.read_text())
        hashes = [base64.b64decode(h) for h in [case["root"], case["leafHash"], *(case["proof"] or [])]]
        if any(len(h) != 32 for h in hashes):
            continue
        got = reg.verify_inclusion(hashes[0], case["treeSize"], case["leafIdx"], hashes[1], hashes[2:])
        assert got is (not case["wantErr"]), path.name
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("name", ["tm/ratings/daily", "a", "x" * 128])
def test_dataset_id_matches_contract_expectation(env: Env, name: str) -> None:
    # the contract never hashes names; this pins the id the manifest, contract events and tools share
    assert dataset_id(name) == bytes(env.backend.w3.keccak(text=name))


def test_a_send_after_a_signed_transaction_takes_the_next_nonce(env: Env) -> None:
    """The worker signs and broadcasts anchors, and sends other transactions (source updates)
    from the same account: a send after a sign reused the signed transaction's nonce (found when
    a test funded a source key after the worker had anchored: "expected 7, got 6")."""
    tx = env.reg.tx
    raw, tx_hash = tx.sign(env.reg.contract.functions.setAnchorer(env.relayer.address, True), env.owner)
    tx.broadcast(raw)
    tx.wait(tx_hash)
    sent = env.reg.set_anchorer(env.relayer.address, False, env.owner)  # the next nonce, not the signed one
    assert sent.receipt["status"] == 1


def test_broadcast_tells_a_known_transaction_from_a_used_nonce(env: Env) -> None:
    """Re-sending the same bytes is harmless; a nonce the chain has used is `chain.nonce-used`."""
    from provenance.errors import ChainError

    tx = env.reg.tx
    fn = env.reg.contract.functions.setAnchorer(env.relayer.address, True)
    raw, tx_hash = tx.sign(fn, env.owner)
    tx.broadcast(raw)
    assert tx.wait(tx_hash).tx_hash == tx_hash
    with pytest.raises(ChainError) as err:
        tx.broadcast(raw)  # mined: its nonce is spent
    assert err.value.code == "chain.nonce-used"
