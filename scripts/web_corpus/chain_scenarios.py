"""What a node answers, scenario by scenario, for an anchored bundle: the anchoring receipt and
its events, the registry's storage (source status, snapshots, latest checkpoint), the block
number, and the ways each can differ from the bundle or fail (scripts/web_corpus/chain.py)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from typing import Any

from provenance.manifest import Domain
from web_corpus.chain import REGISTRY, Answers, call, log, manifest_of, receipt, revert, selector, topic, word

CHECKPOINT_ANCHORED = "CheckpointAnchored(uint256,uint64,bytes32)"
SNAPSHOT_ANCHORED = "SnapshotAnchored(bytes32,uint64,address,bytes32,uint64,bytes32)"
SOURCE_STATUS = "sourceStatus(address)"
AUTHORIZED = "isAuthorizedSigner(bytes32,address)"
LATEST = "latestCheckpoint()"
SNAPSHOT_OF = "snapshotOf(bytes32,uint64)"
IS_LOG_KEY = "isLogKey(string)"
IS_RETRACTED = "isRetracted(bytes32,uint64,bytes32)"
DISPUTES = "disputeCount(bytes32,uint64,bytes32)"
OTHER = "0x" + "22" * 20
Scenario = tuple[str, dict[str, Any], Answers, int]


def _common() -> Answers:
    return dict(
        [
            ("eth_chainId", {"result": "0x7a69"}),
            ("eth_blockNumber", {"result": "0x10"}),
            ("eth_getCode", {"result": "0x6080604052"}),
            call(SOURCE_STATUS, 1),
            call(AUTHORIZED, 0),
            call(DISPUTES, 0),
        ]
    )


def _with(answers: Answers, *changes: tuple[str, Any]) -> Answers:
    out = copy.deepcopy(answers)
    out.update(changes)
    return out


def _answer(signature: str, **response: Any) -> tuple[str, dict[str, Any]]:
    """What eth_call of ``signature`` answers: a result or an error."""
    return f"eth_call:{selector(signature)}", response


def _node_error(message: str, **fields: Any) -> dict[str, Any]:
    return {"code": -32000, "message": message, **fields}


def _calls(answers: Answers) -> Iterator[tuple[str, Answers]]:
    """Failures of the registry reads and the node, the same for either anchor mode."""
    status = SOURCE_STATUS
    error_string = "0x08c379a0" + word(32) + word(2) + word(b"no".ljust(32, b"\0"))
    yield "source-revoked", _with(answers, call(status, 2))
    yield "source-unknown-authorised", _with(answers, call(status, 0), call(AUTHORIZED, 1))
    yield "source-unknown", _with(answers, call(status, 0))
    yield "rpc-down", _with(answers, ("eth_chainId", "down"))
    yield "receipt-rpc-down", _with(answers, ("eth_getTransactionReceipt", "down"))
    yield "receipt-http-502", _with(answers, ("eth_getTransactionReceipt", "http-502"))
    yield "chain-id-error", _with(answers, ("eth_chainId", {"error": _node_error("busy")}))
    yield "call-failed", _with(answers, _answer(status, error=_node_error("header not found")))
    yield "revert-unknown-error", _with(answers, revert(status, "0xdeadbeef"))
    yield "revert-known-error", _with(answers, revert(status, selector("NotAnchorer(address)") + word(OTHER)))
    yield "revert-error-string", _with(answers, revert(status, error_string))
    yield (
        "revert-no-data",
        _with(answers, _answer(status, error={"code": 3, "message": "reverted", "data": None})),
    )
    yield "revert-message-only", _with(answers, _answer(status, error=_node_error("execution reverted")))
    yield "empty-output", _with(answers, _answer(status, result="0x"))
    no_code = ("eth_getCode", {"error": _node_error("gone")})
    yield "empty-output-no-code", _with(answers, _answer(status, result="0x"), no_code)
    yield "bool-not-bool", _with(answers, call(status, 0), call(AUTHORIZED, 2))
    yield "receipt-null", _with(answers, ("eth_getTransactionReceipt", {"result": None}))
    yield "block-moved", _with(answers, ("eth_getTransactionReceipt", _moved(answers)))
    yield "tx-failed", _with(answers, ("eth_getTransactionReceipt", _receipt_with(answers, status="0x0")))
    yield "tx-to-other", _with(answers, ("eth_getTransactionReceipt", _receipt_with(answers, to=OTHER)))
    yield "no-logs", _with(answers, ("eth_getTransactionReceipt", _receipt_with(answers, logs=[])))
    yield "log-of-other-contract", _with(answers, ("eth_getTransactionReceipt", _logs_from(answers, OTHER)))
    yield "head-behind", _with(answers, ("eth_blockNumber", {"result": "0xc"}))
    yield "disputed", _with(answers, call(DISPUTES, 2))
    # a node that lies or breaks: reported with the check's code, never believed
    yield "head-below-the-receipt", _with(answers, ("eth_blockNumber", {"result": "0xa"}))
    yield "answer-not-json", _with(answers, ("eth_getTransactionReceipt", "garbage"))
    yield "call-answer-too-short", _with(answers, _answer(status, result="0x1234"))
    not_a_receipt = ("eth_getTransactionReceipt", {"result": {"status": "0x1"}})
    yield "receipt-not-a-receipt", _with(answers, not_a_receipt)


def _receipt_with(answers: Answers, **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(answers["eth_getTransactionReceipt"])
    out["result"].update(fields)
    return out


def _moved(answers: Answers) -> dict[str, Any]:
    return _receipt_with(answers, blockHash="0x" + "ef" * 32)


def _logs_from(answers: Answers, address: str) -> dict[str, Any]:
    out = copy.deepcopy(answers["eth_getTransactionReceipt"])
    for entry in out["result"]["logs"]:
        entry["address"] = address
    return out


def _event_receipt(base: Answers, topics: list[str], data: str) -> Answers:
    return _with(base, ("eth_getTransactionReceipt", receipt(log(topics, "0x" + data))))


def checkpoint_scenarios(doc: dict[str, Any]) -> Iterator[Scenario]:
    root = base64.b64decode(doc["log"]["checkpoint"].split("\n")[2])
    anchored = topic(CHECKPOINT_ANCHORED)
    event = log([anchored, "0x" + word(3), "0x" + word(5)], "0x" + word(root))
    base = _common()
    base.update(
        [
            ("eth_getTransactionReceipt", receipt(event)),
            call(LATEST, 4, 9, b"\x42" * 32),
            call(IS_LOG_KEY, 1),
            call(IS_RETRACTED, 0),
        ]
    )
    yield "checkpoint/ok", doc, base, 1
    yield "checkpoint/pending", doc, base, 10
    for name, answers in _calls(base):
        yield f"checkpoint/{name}", doc, answers, 1
    for name, topics, data in [
        ("event-other-size", [anchored, "0x" + word(3), "0x" + word(6)], word(root)),
        ("event-other-root", [anchored, "0x" + word(3), "0x" + word(5)], word(b"\1" * 32)),
        ("event-other-index", [anchored, "0x" + word(4), "0x" + word(5)], word(root)),
        ("event-short-data", [anchored, "0x" + word(3), "0x" + word(5)], ""),
        ("event-size-padding", [anchored, "0x" + word(3), "0x01" + word(5)[2:]], word(root)),
        ("event-too-few-topics", [anchored, "0x" + word(3)], word(root)),
    ]:
        yield f"checkpoint/{name}", doc, _event_receipt(base, topics, data), 1
    yield "checkpoint/no-checkpoint-yet", doc, _with(base, revert(LATEST, selector("NoCheckpoint()"))), 1
    yield "checkpoint/log-key-not-vouched-for", doc, _with(base, call(IS_LOG_KEY, 0)), 1
    yield "checkpoint/retracted", doc, _with(base, call(IS_RETRACTED, 1)), 1
    yield "checkpoint/latest-below", doc, _with(base, call(LATEST, 2, 4, b"\x42" * 32)), 1
    unindexed = copy.deepcopy(doc)
    del unindexed["anchor"]["checkpointIndex"]
    yield "checkpoint/without-index", unindexed, _with(base), 1
    yield "checkpoint/wrong-chain", doc, _with(base, ("eth_chainId", {"result": "0x1"})), 1
    elsewhere = copy.deepcopy(doc)
    elsewhere["anchor"]["contract"] = OTHER
    yield "checkpoint/domain-mismatch", elsewhere, base, 1
    unlogged = copy.deepcopy(doc)
    unlogged["log"]["checkpoint"] = unlogged["log"]["checkpoint"].replace("\u2014 ", "- ")
    yield "checkpoint/checkpoint-unverified", unlogged, base, 1


def direct_scenarios(doc: dict[str, Any]) -> Iterator[Scenario]:
    m = manifest_of(doc)
    d = doc["manifest"]["domain"]
    assert d["verifyingContract"] == REGISTRY
    digest = m.digest(Domain(d["chainId"], d["verifyingContract"]))
    signer = doc["manifest"]["signer"]
    topics = [topic(SNAPSHOT_ANCHORED), *("0x" + word(v) for v in (m.dataset_id, m.version, signer))]
    event = log(topics, "0x" + word(m.root) + word(m.size) + word(digest))
    base = _common()
    base.update(
        [("eth_getTransactionReceipt", receipt(event)), call(SNAPSHOT_OF, m.root, m.size, signer, 12, 0)]
    )
    yield "direct/ok", doc, base, 1
    for name, answers in _calls(base):
        yield f"direct/{name}", doc, answers, 1
    not_found = selector("SnapshotNotFound(bytes32,uint64)") + word(m.dataset_id) + word(1)
    yield "direct/not-anchored", doc, _with(base, revert(SNAPSHOT_OF, not_found)), 1
    for name, record in [
        ("other-root", (b"\1" * 32, m.size, signer, 12, 0)),
        ("other-size", (m.root, m.size + 1, signer, 12, 0)),
        ("other-signer", (m.root, m.size, OTHER, 12, 0)),
        ("retracted", (m.root, m.size, signer, 12, 1)),
    ]:
        yield f"direct/{name}", doc, _with(base, call(SNAPSHOT_OF, *record)), 1
    other = word(m.root) + word(m.size) + word(b"\2" * 32)
    yield "direct/event-other-digest", doc, _event_receipt(base, topics, other), 1
    moved = copy.deepcopy(doc)
    moved["anchor"]["blockNumber"] = 13
    yield "direct/block-number-differs", moved, base, 1
    other_chain = copy.deepcopy(doc)
    other_chain["anchor"]["chainId"] = 1
    yield "direct/anchored-on-another-chain", other_chain, _with(base, ("eth_chainId", {"result": "0x1"})), 1
