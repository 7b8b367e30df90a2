"""#11 faults: a malicious or hanging JSON-RPC node is reported, not believed.

The verifier reads the chain through a node nobody vouches for. Here that node is a proxy in
front of a real anvil that lies about one thing at a time: a receipt (failed, in another block,
without its event, missing), the registry's storage (another root, a shorter log, a log key it
does not vouch for), the chain id, the head block, or answers that are not JSON-RPC at all, or
never come. A lie that contradicts the bundle or the node's other answers fails the check it
touches with that check's reason code; nothing a lying node says makes a bundle ``valid``.
(A node that lies consistently about everything is the limit of any light client: use your own.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3

from provenance.chain.backends import AnvilBackend, AnvilNode, Backend, rpc_web3
from provenance.chain.verifier import ChainVerifier, verifier_for
from provenance.chain.web3_reads import Web3Reads
from provenance.proofs import bundle
from provenance.proofs.bundle import Anchor
from provenance.proofs.verdict import Verdict
from provenance.proofs.verify import Policy, verify_bundle
from tests import factories as f
from tests.integration.chain.conftest import Env
from tests.integration.chain.rpc_proxy import LyingNode, lying_node

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """Only a real node: the lies are told over JSON-RPC, which the embedded chain has not."""
    b = AnvilBackend(AnvilNode(log_file=tmp_path_factory.mktemp("anvil") / "anvil.log"))
    yield b
    b.close()


@pytest.fixture
def node(backend: Backend, reader: str) -> Iterator[LyingNode]:
    assert backend.rpc_url is not None
    with lying_node(backend.rpc_url) as n:
        n.reader = reader
        yield n


def selector(signature: str) -> str:
    return "0x" + Web3.keccak(text=signature)[:4].hex()


def on_call(signature: str, fn: Any) -> Any:
    """A rewrite of the answers to one registry function's eth_call."""

    def rewrite(method: str, params: list[Any], result: Any) -> Any:
        if method == "eth_call" and str(params[0].get("data", params[0].get("input", ""))).startswith(
            selector(signature)
        ):
            return fn(result)
        return result

    return rewrite


def on(method_name: str, fn: Any) -> Any:
    return lambda method, params, result: fn(result) if method == method_name else result


def word(result: str, i: int, value: int) -> str:
    raw = bytearray(bytes.fromhex(result[2:]))
    raw[32 * i : 32 * i + 32] = value.to_bytes(32, "big")
    return "0x" + raw.hex()


def direct_bundle(env: Env, name: str) -> dict[str, Any]:
    snap = f.snapshot(dataset=name, domain=env.domain)
    r = env.reg.anchor_snapshot(snap.signed, env.relayer)
    anchor = Anchor("direct", env.reg.chain_id, env.reg.address, r.tx_hash, r.block_number, r.block_hash)
    return f.proof_bundle(snap, 2, with_log=False, anchor=anchor)


def checkpoint_bundle(env: Env, name: str) -> dict[str, Any]:
    snap = f.snapshot(dataset=name, domain=env.domain)
    log, _ = f.ledger_log(snap, other_log_entries=6)
    previous = env.reg.latest_checkpoint()
    assert previous is None
    r = env.reg.anchor_checkpoint(log.size, log.root, [], env.anchorer)
    anchor = Anchor(
        "checkpoint", env.reg.chain_id, env.reg.address, r.tx_hash, r.block_number, r.block_hash, 0
    )
    return f.proof_bundle(snap, 0, other_log_entries=6, anchor=anchor)


@pytest.fixture(params=["web3", "jsonrpc"])
def reader(request: pytest.FixtureRequest) -> str:
    """Both readers are lied to: the service's (web3) and the CLI's (plain JSON-RPC)."""
    return str(request.param)


def verify(node: LyingNode, doc: dict[str, Any], timeout: float = 10.0) -> Verdict:
    if node.reader == "web3":
        chain = ChainVerifier(Web3Reads(rpc_web3(node.url, timeout=timeout)))
    else:
        chain = verifier_for(node.url, timeout=timeout)
    return verify_bundle(bundle.parse(json.dumps(doc)), policy=Policy(), chain=chain)


def reasons(v: Verdict) -> dict[str, str]:
    return {c.name: c.reason for c in v.checks if c.reason}


def test_the_honest_proxy_changes_nothing(env: Env, node: LyingNode) -> None:
    v = verify(node, direct_bundle(env, "tm/rpc/honest"))
    assert v.status == "valid", v.to_json()
    assert verify(node, checkpoint_bundle(env, "tm/rpc/honest-cp")).status == "valid"


RECEIPT_LIES = [
    ("failed", lambda r: {**r, "status": "0x0"}, "anchor.bad-transaction"),
    ("reorged", lambda r: {**r, "blockHash": "0x" + "ee" * 32}, "anchor.block-mismatch"),
    ("without its event", lambda r: {**r, "logs": []}, "anchor.event-missing"),
    ("missing", lambda r: None, "anchor.tx-not-found"),
    ("to another contract", lambda r: {**r, "to": "0x" + "11" * 20}, "anchor.bad-transaction"),
    ("not a receipt", lambda r: {"status": "0x1"}, "chain.bad-answer"),
]


@pytest.mark.parametrize(("lie", "fn", "reason"), RECEIPT_LIES, ids=[x[0] for x in RECEIPT_LIES])
def test_a_lying_receipt_is_reported(env: Env, node: LyingNode, lie: str, fn: Any, reason: str) -> None:
    doc = direct_bundle(env, f"tm/rpc/receipt-{lie.replace(' ', '-')}")
    node.rewrite = on("eth_getTransactionReceipt", lambda r: None if r is None else fn(r))
    v = verify(node, doc)
    assert (v.status, v.check("anchor").reason) == ("invalid", reason), v.to_json()


def test_a_lying_registry_read_is_reported(env: Env, node: LyingNode) -> None:
    doc = direct_bundle(env, "tm/rpc/storage")
    node.rewrite = on_call("snapshotOf(bytes32,uint64)", lambda r: word(r, 0, 5))  # another root
    assert reasons(verify(node, doc))["anchor"] == "anchor.root-mismatch"
    node.rewrite = on_call("sourceStatus(address)", lambda r: word(r, 0, 2))  # "revoked"
    assert reasons(verify(node, doc))["source-status"] == "source-status.revoked"


def test_a_lying_checkpoint_read_is_reported(env: Env, node: LyingNode) -> None:
    doc = checkpoint_bundle(env, "tm/rpc/cp")
    node.rewrite = on_call("latestCheckpoint()", lambda r: word(r, 1, 3))  # a log shorter than the receipt's
    assert reasons(verify(node, doc))["anchor"] == "anchor.not-found"
    node.rewrite = on_call("isLogKey(string)", lambda r: word(r, 0, 0))
    assert reasons(verify(node, doc))["anchor"] == "anchor.log-key-unknown"
    node.rewrite = on_call("isLogKey(string)", lambda r: "0x1234")  # not an ABI answer at all
    v = verify(node, doc)
    assert v.status == "invalid" and v.check("anchor").reason == "chain.bad-answer", v.to_json()


def test_a_node_of_another_chain_or_an_impossible_head_is_reported(env: Env, node: LyingNode) -> None:
    doc = direct_bundle(env, "tm/rpc/head")
    node.rewrite = on("eth_chainId", lambda r: "0x1")
    assert reasons(verify(node, doc))["anchor"] == "anchor.wrong-chain"
    node.rewrite = on("eth_blockNumber", lambda r: "0x1")  # below the receipt's own block
    v = verify(node, doc)
    assert (v.status, v.check("confirmations").reason) == ("invalid", "confirmations.inconsistent-node"), (
        v.to_json()
    )


def test_an_answer_that_is_not_json_rpc_is_reported(env: Env, node: LyingNode) -> None:
    doc = direct_bundle(env, "tm/rpc/garbage")
    node.raw = b"<html>502 Bad Gateway</html>"
    v = verify(node, doc)
    assert (v.status, v.check("anchor").reason) == ("invalid", "chain.bad-answer"), v.to_json()
    assert "<html>" not in v.check("anchor").detail


def test_a_node_that_never_answers_times_out(env: Env, node: LyingNode) -> None:
    doc = direct_bundle(env, "tm/rpc/hang")
    node.hang = 5.0
    started = time.monotonic()
    v = verify(node, doc, timeout=1.0)
    assert time.monotonic() - started < 4.5  # the first unanswered request ends the chain reads
    assert (v.status, v.check("anchor").reason) == ("invalid", "chain.rpc-unavailable"), v.to_json()


def test_an_http_error_in_front_of_the_node_is_an_unreachable_node(env: Env, node: LyingNode) -> None:
    doc = direct_bundle(env, "tm/rpc/http-502")
    node.status = 502
    v = verify(node, doc)
    assert (v.status, v.check("anchor").reason) == ("invalid", "chain.rpc-unavailable"), v.to_json()
    assert "502" in v.check("anchor").detail
