"""What only a real node shows: reorgs, an independent client (cast), persistence, outages."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3.types import RPCEndpoint

from provenance.chain.backends import AnvilBackend, AnvilNode, rpc_web3
from provenance.chain.deploy import attach, deploy
from provenance.chain.finality import AnchorRef, AnchorState, anchor_snapshot_once, check
from provenance.chain.registry import RegistryClient
from provenance.chain.transactions import Transactor
from provenance.chain.verifier import ChainVerifier
from provenance.chain.web3_reads import Web3Reads
from provenance.errors import ChainError, RpcUnavailable
from provenance.merkle import MerkleTree, hash_leaf
from provenance.proofs import bundle
from provenance.proofs.bundle import Anchor
from provenance.proofs.verify import Policy, verify_bundle
from tests import factories as f
from tests.integration.chain.conftest import Env, make_env

pytestmark = pytest.mark.chain
ROOT = Path(__file__).resolve().parents[3]
CAST = ROOT / "node_modules" / "@foundry-rs" / "cast-linux-amd64" / "bin" / "cast"


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilBackend]:
    backend = AnvilBackend(AnvilNode(log_file=tmp_path_factory.mktemp("anvil") / "anvil.log"))
    yield backend
    backend.close()


@pytest.fixture
def anvil_env(anvil: AnvilBackend) -> Env:
    return make_env(anvil, Transactor(anvil.w3, poll=0.01))


def test_reorg_drops_an_anchor_which_is_detected_and_reanchored(anvil_env: Env) -> None:
    env = anvil_env
    w3 = env.backend.w3
    snap = f.snapshot(dataset="tm/reorg", domain=env.domain)
    fork_point = w3.provider.make_request("evm_snapshot", [])["result"]
    r = env.reg.anchor_snapshot(snap.signed, env.relayer)
    ref = AnchorRef.of(r)
    anchor = Anchor("direct", env.reg.chain_id, env.reg.address, r.tx_hash, r.block_number, r.block_hash)
    doc = f.proof_bundle(snap, 0, with_log=False, anchor=anchor)
    verifier = ChainVerifier(Web3Reads(w3))
    assert verify_bundle(bundle.parse(json.dumps(doc)), policy=Policy(), chain=verifier).status == "valid"
    # the chain forks below the anchor: the other branch is longer and does not hold it
    assert w3.provider.make_request("evm_revert", [fork_point])["result"] is True
    env.reg.tx._nonces.clear()  # the nonces of the dropped branch are free again
    w3.provider.make_request("anvil_mine", [3])
    assert check(env.reg, ref, required=1).state is AnchorState.DROPPED
    v = verify_bundle(bundle.parse(json.dumps(doc)), policy=Policy(), chain=verifier)
    assert v.check("anchor").reason == "anchor.tx-not-found"
    # re-anchoring submits again (the version is free again), once
    again = anchor_snapshot_once(env.reg, snap.signed, env.relayer)
    assert again is not None
    assert again.block_hash != r.block_hash
    assert anchor_snapshot_once(env.reg, snap.signed, env.relayer) is None
    doc["anchor"] = Anchor(
        "direct", env.reg.chain_id, env.reg.address, again.tx_hash, again.block_number, again.block_hash
    ).to_json()
    assert verify_bundle(bundle.parse(json.dumps(doc)), policy=Policy(), chain=verifier).status == "valid"


def cast(*args: str) -> str:
    proc = subprocess.run([str(CAST), *args], capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout.strip()


def test_cast_verifies_python_proofs(anvil_env: Env) -> None:
    """An independent client (Foundry's cast) checks a proof made here against the contract."""
    env = anvil_env
    url = env.backend.node.url  # type: ignore[attr-defined]
    leaves = [f"record-{i}".encode() for i in range(1000)]
    tree = MerkleTree.from_leaf_inputs(leaves)
    i = 617
    proof = tree.inclusion_proof(i)
    sig = "verifyInclusion(bytes32,uint64,uint64,bytes32,bytes32[])(bool)"

    def call(path: list[bytes], leaf: bytes) -> str:
        return cast(
            "call",
            env.reg.address,
            sig,
            "0x" + tree.root.hex(),
            str(tree.size),
            str(i),
            "0x" + leaf.hex(),
            "[" + ",".join("0x" + h.hex() for h in path) + "]",
            "--rpc-url",
            url,
        )

    assert call(proof, hash_leaf(leaves[i])) == "true"
    tampered = [*proof[:3], bytes([proof[3][0] ^ 1]) + proof[3][1:], *proof[4:]]
    assert call(tampered, hash_leaf(leaves[i])) == "false"
    assert call(proof, hash_leaf(b"record-618")) == "false"
    # and the snapshot the registry holds, read with cast
    snap = f.snapshot(dataset="tm/cast", domain=env.domain)
    env.reg.anchor_snapshot(snap.signed, env.relayer)
    out = cast(
        "call",
        env.reg.address,
        "snapshotOf(bytes32,uint64)(bytes32,uint64,address,uint64,bool)",
        "0x" + snap.manifest.dataset_id.hex(),
        "1",
        "--rpc-url",
        url,
    )
    assert out.splitlines()[0] == "0x" + snap.manifest.root.hex()


def test_cast_checks_checkpoints_against_the_registry(anvil_env: Env) -> None:
    """Only the latest checkpoint is in storage: an older one is checked with cast either by its
    log (`cast logs`, by size topic) or by a consistency proof to the latest (`verifyCheckpoint`)."""
    env = anvil_env
    url = env.backend.node.url  # type: ignore[attr-defined]
    log = MerkleTree.from_leaf_inputs([f"entry-{i}".encode() for i in range(1000)])
    env.reg.anchor_checkpoint(400, log.root_at(400), [], env.anchorer)
    env.reg.anchor_checkpoint(1000, log.root, log.consistency_proof(400, 1000), env.anchorer)
    sig = "verifyCheckpoint(uint64,bytes32,bytes32[])(bool)"

    def call(size: int, root: bytes, path: list[bytes]) -> str:
        hashes = "[" + ",".join("0x" + h.hex() for h in path) + "]"
        return cast("call", env.reg.address, sig, str(size), "0x" + root.hex(), hashes, "--rpc-url", url)

    proof = log.consistency_proof(400, 1000)
    assert call(400, log.root_at(400), proof) == "true"
    assert call(1000, log.root, []) == "true"
    assert call(400, log.root_at(401), proof) == "false"
    assert call(400, log.root_at(400), [*proof[:-1], bytes(32)]) == "false"
    out = cast(
        "logs",
        "--address",
        env.reg.address,
        "--from-block",
        "0",
        "CheckpointAnchored(uint256 indexed,uint64 indexed,bytes32)",
        "",  # any index
        "400",
        "--rpc-url",
        url,
    )
    assert out.count("transactionHash") == 1
    assert log.root_at(400).hex() in out and log.root.hex() not in out


def test_state_persists_across_node_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    node = AnvilNode(state_file=state)
    backend = AnvilBackend(node)
    client, deployment = deploy(backend.w3, backend.accounts[0])
    client.register_source(backend.accounts[2].address, backend.accounts[0])
    backend.close()
    assert state.exists()
    again = AnvilBackend(AnvilNode(state_file=state))
    try:
        restored = attach(again.w3, deployment)
        assert restored.source_status(backend.accounts[2].address) == 1
    finally:
        again.close()


def test_attach_refuses_missing_or_foreign_code() -> None:
    """A recorded deployment whose code is gone (fresh chain) or not this build (e.g. the earlier
    registry that stored every checkpoint root) is refused with a typed error, never used."""
    backend = AnvilBackend(AnvilNode())
    try:
        client, deployment = deploy(backend.w3, backend.accounts[0])
        empty = dataclasses.replace(deployment, address="0x" + "42" * 20)
        with pytest.raises(ChainError) as e:
            attach(backend.w3, empty)
        assert e.value.code == "chain.no-code"
        backend.w3.provider.make_request(RPCEndpoint("anvil_setCode"), [client.address, "0x6000600055"])
        with pytest.raises(ChainError) as e:
            attach(backend.w3, deployment)
        assert e.value.code == "chain.code-mismatch"
        assert "earlier version" in e.value.message and "provenance chain deploy" in e.value.message
    finally:
        backend.close()


def test_rpc_outage_is_a_typed_error(tmp_path: Path) -> None:
    node = AnvilNode()
    node.start()
    client = RegistryClient(rpc_web3(node.url, timeout=2), "0x" + "00" * 20)
    node.kill()
    with pytest.raises(RpcUnavailable):
        client.block_number()
    with pytest.raises(RpcUnavailable):
        client.source_status("0x" + "11" * 20)
