"""The gas measurements of scripts/gas_report.py (which prints them), on the contract-test harness.

Checkpoint rows: `anchorCheckpoint` by the primary anchorer at log sizes 10, 1,000 and 1,000,000
from a previous checkpoint at n-1, n-7, n-100 and n-1000 (where that is >= 1), with the proof
length; a run of consecutive anchors near 1,000,000 (a periodic storage spike would show there);
a non-primary anchorer (one more cold storage read); the first anchor (no proof). Then the
anchorSnapshot rows and verifyInclusion of a 20-level proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint, TxReceipt

from provenance.merkle import MerkleTree
from tests.contract.harness import (
    accounts,
    anvil,
    deploy,
    fund,
    load_artifact,
    make_manifest,
    reverted,
    send,
    send_as,
    sha256,
    signed_anchor,
)

CHECKPOINT_BAR = 70_000
SNAPSHOT_BAR = 90_000
INCLUSION_BAR = 40_000
# anvil's hardfork names before Prague, the fork that brought the EIP-7623 calldata floor
PRE_PRAGUE = {
    "frontier", "homestead", "dao", "tangerine", "spuriousdragon", "byzantium", "constantinople",
    "petersburg", "istanbul", "muirglacier", "berlin", "london", "arrowglacier", "grayglacier",
    "paris", "merge", "shanghai", "cancun",
}  # fmt: skip

CHECKPOINT_SIZES = (10, 1_000, 1_000_000)
CHECKPOINT_DELTAS = (1, 7, 100, 1_000)
SEQUENCE_LENGTH = 12
WORST_PREVIOUS = 3


@dataclass(frozen=True)
class Row:
    """One line of the report: what was measured, its gas, and its bar (None: no bar)."""

    op: str
    gas: int
    bar: int | None = None


@dataclass(frozen=True)
class Report:
    node: str  # the node's client version
    rows: list[Row]
    notes: list[str]  # one-line summaries for the log (the cadence scan)


def before_prague(hardfork: str | None) -> bool:
    """Whether anvil's ``--hardfork`` value names a fork without the calldata floor (None: latest)."""
    return hardfork is not None and hardfork.lower().replace("-", "").replace("_", "") in PRE_PRAGUE


def calldata_costs(data: bytes) -> tuple[int, int]:
    """(standard calldata gas, EIP-7623 floor incl. 21k) of transaction input `data`."""
    zeros = data.count(0)
    nonzero = len(data) - zeros
    tokens = zeros + 4 * nonzero
    return 4 * zeros + 16 * nonzero, 21_000 + 10 * tokens


def deploy_row(receipt: TxReceipt) -> Row:
    size = len(bytes.fromhex(load_artifact()["deployedBytecode"].removeprefix("0x")))
    return Row(f"deploy ProvenanceRegistry ({size:,} bytes of code)", int(receipt["gasUsed"]))


def anchor_row(
    label: str, receipt: TxReceipt, proof: Sequence[bytes], bar: int | None = CHECKPOINT_BAR
) -> Row:
    return Row(f"{label} ({len(proof)} hashes)", int(receipt["gasUsed"]), bar)


def anchor_checkpoint(
    reg: Contract, tree: MerkleTree, size: int, proof: Sequence[bytes], sender: str
) -> TxReceipt:
    return send(reg.functions.anchorCheckpoint(size, tree.root_at(size), list(proof)), sender)


def measure_checkpoints(
    w3: Web3, reg: Contract, anchorer: str, other: str, tree: MerkleTree, rows: list[Row]
) -> None:
    """anchorCheckpoint rows; `anchorer` is the primary anchorer, `other` a second anchorer.

    Each measured anchor follows one earlier anchor (the previous checkpoint), so the head slot
    already holds a count and a size, as for every anchor but the first.
    """

    def anchor(size: int, proof: Sequence[bytes], sender: str) -> TxReceipt:
        return anchor_checkpoint(reg, tree, size, proof, sender)

    for n in CHECKPOINT_SIZES:
        for delta in CHECKPOINT_DELTAS:
            prev = n - delta
            if prev < 1:
                continue
            with reverted(w3):
                anchor(prev, [], anchorer)
                proof = tree.consistency_proof(prev, n)
                receipt = anchor(n, proof, anchorer)
                rows.append(anchor_row(f"anchorCheckpoint n={n:,} from n-{delta}", receipt, proof))

    # The longest consistency proof into a 1,000,000-entry log: 21 hashes, from size 3 (found by
    # scanning every size 1..4,999 and n-4,999..n-1 and 200,000 random ones in between).
    with reverted(w3):
        anchor(WORST_PREVIOUS, [], anchorer)
        proof = tree.consistency_proof(WORST_PREVIOUS, 1_000_000)
        assert len(proof) == 21, len(proof)
        receipt = anchor(1_000_000, proof, anchorer)
        label = f"anchorCheckpoint n=1,000,000 from {WORST_PREVIOUS} (longest proof)"
        rows.append(anchor_row(label, receipt, proof))

    # Consecutive anchors, one entry apart, ending at 1,000,000.
    with reverted(w3):
        prev = 1_000_000 - SEQUENCE_LENGTH
        anchor(prev, [], anchorer)
        for k in range(1, SEQUENCE_LENGTH + 1):
            size = prev + 1
            proof = tree.consistency_proof(prev, size)
            receipt = anchor(size, proof, anchorer)
            rows.append(anchor_row(f"anchorCheckpoint sequence #{k}: {prev:,} -> {size:,}", receipt, proof))
            prev = size

    # A non-primary anchorer pays one cold read of its `_anchorers` entry (~2.1k).
    for delta in (1, 1_000):
        with reverted(w3):
            prev = 1_000_000 - delta
            anchor(prev, [], anchorer)
            proof = tree.consistency_proof(prev, 1_000_000)
            receipt = anchor(1_000_000, proof, other)
            label = f"anchorCheckpoint n=1,000,000 from n-{delta}, non-primary anchorer"
            rows.append(anchor_row(label, receipt, proof))

    with reverted(w3):
        receipt = anchor(1_000, [], anchorer)
        rows.append(anchor_row("anchorCheckpoint first checkpoint, empty proof", receipt, [], None))


def measure_cadence(
    w3: Web3, reg: Contract, anchorer: str, tree: MerkleTree, every: int, rows: list[Row]
) -> str:
    """Every checkpoint a worker anchoring each `every` entries makes up to 1,000,000 entries.

    A proof's length depends on where the sizes fall, not only on the gap, so this counts the
    checkpoints over the bar among all of them. Proofs shorter than 13 hashes are not sent to
    the node: 13-hash proofs cost 67-68k (measured above and here), and each hash fewer ~1k less.
    Returns a one-line summary of the scan.
    """
    sizes = range(every, 1_000_000 - every + 1, every)
    proofs = ((m, tree.consistency_proof(m, m + every)) for m in sizes)
    long = [(m, proof) for m, proof in proofs if len(proof) >= 13]
    worst: tuple[int, int, int] = (0, 0, 0)
    over = 0
    for m, proof in long:
        with reverted(w3):
            anchor_checkpoint(reg, tree, m, [], anchorer)
            gas = int(anchor_checkpoint(reg, tree, m + every, proof, anchorer)["gasUsed"])
        over += gas > CHECKPOINT_BAR
        worst = max(worst, (gas, len(proof), m))
    rows.append(
        Row(
            f"anchorCheckpoint every {every} entries, worst of {len(sizes):,} up to 1M: from"
            f" {worst[2]:,} ({worst[1]} hashes; {over} over the bar)",
            worst[0],
            CHECKPOINT_BAR,
        )
    )
    return (
        f"cadence {every}: {len(sizes):,} checkpoints up to 1,000,000 entries, {len(long)} with proofs of"
        f" >= 13 hashes measured, {over} over {CHECKPOINT_BAR:,} gas"
    )


def measure_snapshots(w3: Web3, reg: Contract, owner: str, rows: list[Row]) -> None:
    # Fixed keys: a zero byte in a signature is 12 gas less calldata than another byte, so with
    # fresh random keys these rows moved by 12 gas from one run to the next.
    source = Account.from_key(sha256(b"gas-report/source"))
    rotated = Account.from_key(sha256(b"gas-report/rotated"))
    send(reg.functions.registerSource(source.address), owner)

    def anchor(m: dict[str, Any], key: Any) -> int:
        return int(send(signed_anchor(reg, m, key), owner)["gasUsed"])

    v1 = make_manifest("tm/ratings/daily", 1)
    rows.append(Row("anchorSnapshot v1 (claims dataset), no parents", anchor(v1, source.key)))
    v2 = make_manifest("tm/ratings/daily", 2)
    rows.append(Row("anchorSnapshot v2 by owner, no parents", anchor(v2, source.key), SNAPSHOT_BAR))
    parents = [
        {"datasetId": Web3.keccak(text="tm/prices"), "version": 7, "root": sha256(b"p1")},
        {"datasetId": Web3.keccak(text="tm/trades"), "version": 3, "root": sha256(b"p2")},
    ]
    v3 = make_manifest("tm/ratings/daily", 3, parents)
    rows.append(Row("anchorSnapshot v3 by owner, 2 parents", anchor(v3, source.key)))
    fund(w3, source.address)
    send_as(w3, reg.functions.authorizeSigner(v1["datasetId"], rotated.address), source)
    v4 = make_manifest("tm/ratings/daily", 4)
    rows.append(Row("anchorSnapshot v4 by authorised signer", anchor(v4, rotated.key)))


def execution_gas(w3: Web3, to: str, data: str) -> int:
    """Gas used by the EVM execution alone of a call (no intrinsic gas, no calldata floor).

    From anvil's debug_traceCall step log: gas left at the first step minus gas left after the
    last one.
    """
    res = w3.provider.make_request(
        RPCEndpoint("debug_traceCall"),
        [{"to": to, "data": data}, "latest", {"disableStack": True, "disableStorage": True}],
    )
    steps = res["result"]["structLogs"]
    return int(steps[0]["gas"]) - (int(steps[-1]["gas"]) - int(steps[-1]["gasCost"]))


def measure_inclusion(
    w3: Web3, reg: Contract, tree: MerkleTree, rows: list[Row], *, calldata_floor: bool = True
) -> None:
    """verifyInclusion of a 20-level proof, as estimate_gas of the eth_call and execution only.

    Since Prague (EIP-7623) a transaction pays at least the calldata floor, 21,000 + 10 per token
    (a zero byte is one token, any other byte four). This call's 20 hashes of calldata make the
    floor exceed intrinsic + execution, so estimate_gas is the floor itself, and "estimate minus
    intrinsic" would not be the execution cost. The execution-only row is therefore measured from
    a debug_traceCall step log, and checked against the transaction gas formula:
    estimate = max(intrinsic + execution, floor), intrinsic = 21,000 + 4 per zero byte + 16 per
    other byte of calldata. Before Prague (`calldata_floor=False`, e.g. `--hardfork cancun`) there
    is no floor and the estimate must be intrinsic + execution exactly.
    """
    n = 1_000_000
    index = 123_456
    proof = tree.inclusion_proof(index, n)
    assert len(proof) == 20, len(proof)
    leaf = tree.leaf_hash(index)
    fn = reg.functions.verifyInclusion(tree.root_at(n), n, index, leaf, proof)
    assert fn.call() is True
    gas = int(fn.estimate_gas())
    data = fn._encode_transaction_data()
    standard, floor = calldata_costs(bytes.fromhex(data[2:]))
    intrinsic = 21_000 + standard
    execution = execution_gas(w3, reg.address, data)
    formula = max(intrinsic + execution, floor) if calldata_floor else intrinsic + execution
    # anvil's estimate can exceed gas used when the 63/64 call rule needs headroom; never less.
    assert gas >= formula, (gas, intrinsic, execution, floor)
    floor_note = f"7623 floor {floor:,})" if calldata_floor else "no 7623 floor on this fork)"
    rows += [
        Row(
            f"verifyInclusion 20 levels (estimate_gas; calldata {standard:,}, " + floor_note,
            gas,
            INCLUSION_BAR,
        ),
        Row(
            f"verifyInclusion 20 levels, intrinsic 21,000 + calldata {standard:,} = {intrinsic:,}", intrinsic
        ),
        Row("verifyInclusion 20 levels, execution only (debug_traceCall)", execution),
        Row(
            "verifyInclusion 20 levels, intrinsic + execution (what a pre-7623 chain charges)",
            intrinsic + execution,
            INCLUSION_BAR,
        ),
    ]


def measure_all(tree: MerkleTree, hardfork: str | None = None, cadence: int | None = None) -> Report:
    """Every row of the report, on a fresh anvil node (of `hardfork`; None: anvil's latest)."""
    rows: list[Row] = []
    notes: list[str] = []
    with anvil(hardfork) as w3:
        owner, anchorer, other = accounts(w3)[:3]
        reg, receipt = deploy(w3, owner)
        rows.append(deploy_row(receipt))
        send(reg.functions.setAnchorer(anchorer, True), owner)  # the first anchorer is the primary
        send(reg.functions.setAnchorer(other, True), owner)
        assert reg.functions.primaryAnchorer().call() == anchorer
        measure_checkpoints(w3, reg, anchorer, other, tree, rows)
        if cadence:
            notes.append(measure_cadence(w3, reg, anchorer, tree, cadence, rows))
        measure_snapshots(w3, reg, owner, rows)
        measure_inclusion(w3, reg, tree, rows, calldata_floor=not before_prague(hardfork))
        return Report(w3.client_version, rows, notes)
