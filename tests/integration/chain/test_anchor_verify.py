"""Bundles verified against the chain: direct and checkpoint anchors, and every way they fail."""

from __future__ import annotations

import copy
import json
from typing import Any

from provenance.chain.finality import AnchorRef, AnchorState, anchor_snapshot_once, check
from provenance.chain.verifier import ChainVerifier, verifier_for
from provenance.chain.web3_reads import Web3Reads
from provenance.proofs import bundle
from provenance.proofs.bundle import Anchor
from provenance.proofs.verdict import Status, Verdict
from provenance.proofs.verify import Policy, verify_bundle
from tests import factories as f
from tests.integration.chain.conftest import Env


def verify(env: Env, doc: dict[str, Any], confirmations: int = 1) -> Verdict:
    """The service's verdict (web3); on a node with a URL, the CLI's (plain JSON-RPC) must be it."""
    parsed = bundle.parse(json.dumps(doc))
    chain = ChainVerifier(Web3Reads(env.backend.w3), confirmations=confirmations)
    verdict = verify_bundle(parsed, policy=Policy(), chain=chain)
    if env.backend.rpc_url is not None:
        light = verify_bundle(parsed, policy=Policy(), chain=verifier_for(env.backend.rpc_url, confirmations))
        assert light.to_json() == verdict.to_json()
    return verdict


def direct(env: Env, dataset: str = "tm/direct") -> tuple[f.Snapshot, dict[str, Any]]:
    snap = f.snapshot(dataset=dataset, domain=env.domain)
    r = env.reg.anchor_snapshot(snap.signed, env.relayer)
    anchor = Anchor("direct", env.reg.chain_id, env.reg.address, r.tx_hash, r.block_number, r.block_hash)
    return snap, f.proof_bundle(snap, 2, with_log=False, anchor=anchor)


def test_direct_anchor_verifies(env: Env) -> None:
    _, doc = direct(env)
    v = verify(env, doc)
    assert v.status == "valid", v.to_json()
    assert v.check("anchor").status is Status.VALID
    assert v.check("log-inclusion").status is Status.NOT_APPLICABLE
    assert v.check("source-status").status is Status.VALID


def test_checkpoint_anchor_verifies(env: Env) -> None:
    snap = f.snapshot(dataset="tm/checkpointed", domain=env.domain)
    log, _ = f.ledger_log(snap, other_log_entries=6)
    r = env.reg.anchor_checkpoint(log.size, log.root, [], env.anchorer)
    anchor = Anchor(
        "checkpoint", env.reg.chain_id, env.reg.address, r.tx_hash, r.block_number, r.block_hash, 0
    )
    doc = f.proof_bundle(snap, 0, other_log_entries=6, anchor=anchor)
    v = verify(env, doc)
    assert v.status == "valid", v.to_json()
    assert "log size 7" in v.check("anchor").detail
    assert "log key provenance.example/ledger is vouched for by the registry" in v.check("anchor").detail
    # the registry's owner withdraws the log key: its checkpoints are no longer the ledger's
    env.reg.set_log_key(f.log_signer().verifier_key(), False, env.owner)
    withdrawn = verify(env, doc).check("anchor")
    assert (withdrawn.status, withdrawn.reason) == (Status.INVALID, "anchor.log-key-unknown")
    env.reg.set_log_key(f.log_signer().verifier_key(), True, env.owner)
    # the same bundle pointing at a checkpoint the chain does not hold
    other = copy.deepcopy(doc)
    note = other["log"]["checkpoint"]
    forged = (
        f.log_signer()
        .sign(
            __import__("provenance.checkpoint", fromlist=["Checkpoint"]).Checkpoint(f.ORIGIN, 7, b"\x05" * 32)
        )
        .text()
    )
    assert forged != note
    other["log"]["checkpoint"] = forged
    v = verify(env, other)
    assert v.check("anchor").reason == "anchor.root-mismatch"
    assert v.check("log-inclusion").status is Status.INVALID

    # A later anchor replaces the stored root: the size-7 bundle still verifies, by its own
    # transaction's event, and the registry's history (latest size 11) covers it.
    later, _ = f.ledger_log(snap, other_log_entries=10)
    assert later.root_at(7) == log.root
    r2 = env.reg.anchor_checkpoint(later.size, later.root, later.consistency_proof(7), env.anchorer)
    v = verify(env, doc)
    assert v.status == "valid", v.to_json()
    assert "as checkpoint 0 (its latest checkpoint: size 11)" in v.check("anchor").detail
    # pointing at the later transaction, or naming another checkpoint index, is refused
    wrong = copy.deepcopy(doc)
    wrong["anchor"].update(
        txHash="0x" + r2.tx_hash.hex(), blockNumber=r2.block_number, blockHash="0x" + r2.block_hash.hex()
    )
    assert verify(env, wrong).check("anchor").reason == "anchor.event-missing"
    wrong = copy.deepcopy(doc)
    wrong["anchor"]["checkpointIndex"] = 1
    assert verify(env, wrong).check("anchor").reason == "anchor.index-mismatch"


def test_confirmations_pending_then_final(env: Env) -> None:
    _, doc = direct(env, "tm/confirm")
    v = verify(env, doc, confirmations=3)
    assert v.status == "incomplete"
    assert v.check("confirmations").status is Status.PENDING
    for _ in range(2):
        env.reg.register_source(f"0x{env.reg.block_number() + 1:040x}", env.owner)  # any tx mines a block
    assert verify(env, doc, confirmations=3).status == "valid"


def test_retracted_revoked_and_wrong_anchor(env: Env) -> None:
    snap, doc = direct(env, "tm/failing")
    # a bundle claiming another block hash, another chain, or another transaction
    for field, value, reason in [
        ("blockHash", "0x" + "ab" * 32, "anchor.block-mismatch"),
        ("txHash", "0x" + "cd" * 32, "anchor.tx-not-found"),
        ("chainId", 999, "anchor.wrong-chain"),
    ]:
        bad = copy.deepcopy(doc)
        bad["anchor"][field] = value
        v = verify(env, bad)
        assert v.check("anchor").reason == reason, v.to_json()
        assert v.status == "invalid"
    env.fund(env.source)
    env.reg.retract(snap.manifest.dataset_id, 1, b"\x00" * 32, env.source)
    v = verify(env, doc)
    assert v.check("anchor").reason == "anchor.retracted"
    env.reg.revoke_source(env.source.address, env.owner)
    v = verify(env, doc)
    assert v.check("source-status").reason == "source-status.revoked"


def test_anchor_is_idempotent(env: Env) -> None:
    snap = f.snapshot(dataset="tm/once", domain=env.domain)
    assert anchor_snapshot_once(env.reg, snap.signed, env.relayer) is not None
    assert anchor_snapshot_once(env.reg, snap.signed, env.relayer) is None  # already there: no second tx


def test_anchor_status_follows_confirmations(env: Env) -> None:
    snap = f.snapshot(dataset="tm/status", domain=env.domain)
    r = env.reg.anchor_snapshot(snap.signed, env.relayer)
    status = check(env.reg, AnchorRef.of(r), required=2)
    assert (status.state, status.confirmations) == (AnchorState.PENDING, 1)
    env.reg.register_source("0x" + "42" * 20, env.owner)
    assert check(env.reg, AnchorRef.of(r), required=2).state is AnchorState.CONFIRMED
    gone = AnchorRef(b"\x01" * 32, r.block_number, r.block_hash)
    assert check(env.reg, gone, required=1).state is AnchorState.DROPPED


def test_checkpoint_signed_by_a_key_the_registry_does_not_vouch_for(env: Env) -> None:
    """An anchorer account alone cannot make a log: the checkpoint's key must be the registry's.

    Someone holding an anchorer account but not the log key anchors their own log and signs its
    checkpoint with a key of their own, which the bundle carries: the signature holds, the key is
    pinned from the chain and is refused there.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from provenance.checkpoint import Checkpoint, LogSigner

    snap = f.snapshot(dataset="tm/foreign-log", domain=env.domain)
    log, _ = f.ledger_log(snap, other_log_entries=3)
    r = env.reg.anchor_checkpoint(log.size, log.root, [], env.anchorer)
    foreign = LogSigner(f.ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
    doc = f.proof_bundle(
        snap,
        0,
        other_log_entries=3,
        anchor=Anchor(
            "checkpoint", env.reg.chain_id, env.reg.address, r.tx_hash, r.block_number, r.block_hash, 0
        ),
    )
    doc["log"]["checkpoint"] = foreign.sign(Checkpoint(f.ORIGIN, log.size, log.root)).text()
    doc["log"]["logKey"] = foreign.verifier_key()
    v = verify(env, doc)
    assert v.check("checkpoint-signature").status is Status.VALID  # from the bundle, not pinned
    assert (v.check("anchor").reason, v.status) == ("anchor.log-key-unknown", "invalid"), v.to_json()
