#!/usr/bin/env python3
"""Conformance check of ProvenanceRegistry on a throwaway anvil node.

    .venv/bin/python scripts/check_contract.py [--hardfork NAME]

- every RFC 9162 vector in shared/vectors/rfc9162 through verifyInclusion / verifyConsistency;
- the EIP-712 digest against eth-account's encode_typed_data(full_message=...);
- signature recovery, high-s / bad length / bad v / wrong chain id / wrong contract refused;
- source, signer, version, retraction and checkpoint rules, including on-chain consistency proofs
  over many anchors by primary and non-primary anchorers, the primary-anchorer bookkeeping, the
  checkpoint views (verifyCheckpoint against the latest for every earlier size, latestCheckpoint,
  checkpointCount), the CheckpointAnchored log lookups by index and by size, the checkpoint count's
  overflow guard, and the revert reasons (custom errors).

Run by the test suite (tests/integration/chain/test_conformance.py); it prints one line per
failed check and a final 'N passed, N failed' line, exiting 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import glob
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.logs import DISCARD
from web3.types import RPCEndpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gas_report import (
    accounts,
    anvil,
    demo_tree,
    deploy,
    eip712_digest,
    fund,
    make_manifest,
    manifest_tuple,
    revert_to,
    send,
    send_as,
    sha256,
    sign_manifest,
    snapshot_id,
)

VECTORS = Path(
    os.environ.get("RFC9162_VECTORS", Path(__file__).resolve().parents[1] / "tests" / "vectors" / "rfc9162")
)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO_ADDRESS = "0x" + "00" * 20
PANIC_OVERFLOW = "4e487b71" + "11".rjust(64, "0")  # Panic(0x11) revert data


class Checker:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}")


def error_selectors(abi: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for item in abi:
        if item["type"] == "error":
            sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
            out[Web3.keccak(text=sig)[:4].hex().removeprefix("0x")] = item["name"]
    return out


def revert_name(fn: Any, sender: str, errors: dict[str, str]) -> str | None:
    """Name of the custom error `fn` reverts with (eth_call from `sender`), or None if it succeeds."""
    try:
        fn.call({"from": sender})
    except ContractPanicError as exc:
        return f"Panic:{exc.data if isinstance(exc.data, str) else exc}"
    except (ContractCustomError, ContractLogicError) as exc:
        data = exc.data if isinstance(exc.data, str) else str(exc.data)
        sel = data.removeprefix("0x")[:8]
        return errors.get(sel, f"unknown:{data[:10]}:{exc}")
    return None


def b64(x: str | None) -> bytes:
    return base64.b64decode(x or "")


def check_vectors(c: Checker, reg: Any) -> None:
    counts = {"inclusion": 0, "consistency": 0, "unencodable": 0}
    for path in sorted(glob.glob(str(VECTORS / "inclusion" / "*" / "*.json"))):
        v = json.loads(Path(path).read_text())
        root, leaf = b64(v["root"]), b64(v["leafHash"])
        proof = [b64(p) for p in (v["proof"] or [])]
        if len(root) != 32 or len(leaf) != 32 or any(len(p) != 32 for p in proof):
            counts["unencodable"] += 1
            c.check(v["wantErr"], f"{path}: valid vector not encodable as bytes32")
            continue
        got = reg.functions.verifyInclusion(root, v["treeSize"], v["leafIdx"], leaf, proof).call()
        counts["inclusion"] += 1
        c.check(
            got == (not v["wantErr"]), f"{path}: verifyInclusion={got} wantErr={v['wantErr']} ({v['desc']})"
        )
    for path in sorted(glob.glob(str(VECTORS / "consistency" / "*" / "*.json"))):
        v = json.loads(Path(path).read_text())
        r1, r2 = b64(v["root1"]), b64(v["root2"])
        proof = [b64(p) for p in (v["proof"] or [])]
        if len(r1) != 32 or len(r2) != 32 or any(len(p) != 32 for p in proof):
            counts["unencodable"] += 1
            c.check(v["wantErr"], f"{path}: valid vector not encodable as bytes32")
            continue
        got = reg.functions.verifyConsistency(v["size1"], v["size2"], r1, r2, proof).call()
        counts["consistency"] += 1
        c.check(
            got == (not v["wantErr"]), f"{path}: verifyConsistency={got} wantErr={v['wantErr']} ({v['desc']})"
        )
    print(f"vectors: {counts}")
    c.check(counts["inclusion"] > 50 and counts["consistency"] > 50, "vectors found")


def check_merkle_exhaustive(c: Checker, reg: Any) -> None:
    """Every inclusion and consistency proof of small trees, plus tampered ones."""
    tree = demo_tree(70)
    for n in (1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70):
        root = tree.root_at(n)
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            leaf = tree.leaf_hash(i)
            c.check(reg.functions.verifyInclusion(root, n, i, leaf, proof).call(), f"inclusion {i}/{n}")
            if proof:
                bad = list(proof)
                bad[-1] = sha256(bad[-1])
                c.check(
                    not reg.functions.verifyInclusion(root, n, i, leaf, bad).call(),
                    f"tampered inclusion {i}/{n}",
                )
                c.check(
                    not reg.functions.verifyInclusion(root, n, i, leaf, [*proof, root]).call(),
                    f"extended {i}/{n}",
                )
        c.check(
            not reg.functions.verifyInclusion(root, n, n, tree.leaf_hash(0), []).call(), f"index=size {n}"
        )
        for m in range(1, n):
            proof = tree.consistency_proof(m, n)
            ok = reg.functions.verifyConsistency(m, n, tree.root_at(m), root, proof).call()
            c.check(ok, f"consistency {m}->{n}")
            c.check(
                not reg.functions.verifyConsistency(m, n, tree.root_at(m), root, proof[:-1]).call(),
                f"short {m}->{n}",
            )
            c.check(
                not reg.functions.verifyConsistency(m, n, sha256(b"x"), root, proof).call(),
                f"bad root1 {m}->{n}",
            )
    # maximal sizes must not revert
    big = 2**64 - 1
    c.check(
        not reg.functions.verifyInclusion(
            b"\x01" * 32, big, big - 1, b"\x02" * 32, [b"\x03" * 32] * 64
        ).call(),
        "huge inclusion",
    )
    c.check(
        not reg.functions.verifyConsistency(1, big, b"\x01" * 32, b"\x02" * 32, [b"\x03" * 32] * 64).call(),
        "huge consistency",
    )


def check_snapshots(c: Checker, w3: Web3, reg: Any, owner: str, errors: dict[str, str]) -> None:
    chain_id = w3.eth.chain_id
    relayer = accounts(w3)[2]
    source, rotated, stranger, other = (Account.create() for _ in range(4))
    for a in (source, rotated, stranger, other):
        fund(w3, a.address)
    err: Callable[[Any, str], str | None] = lambda fn, sender: revert_name(fn, sender, errors)  # noqa: E731

    # EIP-712 digest vs eth-account, with 0, 1 and 2 parents
    for parents in (
        [],
        [{"datasetId": Web3.keccak(text="a"), "version": 1, "root": sha256(b"a")}],
        [
            {"datasetId": Web3.keccak(text="a"), "version": 1, "root": sha256(b"a")},
            {"datasetId": Web3.keccak(text="b"), "version": 2**64 - 1, "root": sha256(b"b")},
        ],
    ):
        m = make_manifest("tm/x", 5, parents)
        on_chain = bytes(reg.functions.snapshotDigest(manifest_tuple(m)).call())
        c.check(on_chain == eip712_digest(m, chain_id, reg.address), f"digest with {len(parents)} parents")

    v1 = make_manifest("tm/ratings/daily", 1)
    ds = v1["datasetId"]
    sig = sign_manifest(v1, source.key, chain_id, reg.address)
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), sig), relayer) == "SourceNotActive",
        "unregistered source refused",
    )
    c.check(
        err(reg.functions.registerSource(source.address), relayer) == "OwnableUnauthorizedAccount",
        "registerSource owner only",
    )
    send(reg.functions.registerSource(source.address), owner)
    c.check(
        err(reg.functions.registerSource(source.address), owner) == "SourceAlreadyActive",
        "double register refused",
    )
    c.check(reg.functions.sourceStatus(source.address).call() == 1, "status active")

    # bad signatures
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    high_s = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), high_s), relayer) == "InvalidSignatureS",
        "high-s refused",
    )
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), sig[:64]), relayer) == "InvalidSignatureLength",
        "64-byte sig refused",
    )
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), sig + b"\x00"), relayer)
        == "InvalidSignatureLength",
        "66-byte sig refused",
    )
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), sig[:64] + b"\x1d"), relayer)
        == "InvalidSignature",
        "v=29 refused",
    )
    wrong_chain = sign_manifest(v1, source.key, chain_id + 1, reg.address)
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), wrong_chain), relayer) == "SourceNotActive",
        "wrong chain id refused",
    )
    wrong_contract = sign_manifest(v1, source.key, chain_id, Web3.to_checksum_address("0x" + "11" * 20))
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), wrong_contract), relayer) == "SourceNotActive",
        "wrong contract refused",
    )
    v1_bad = dict(v1, version=2)
    c.check(
        err(
            reg.functions.anchorSnapshot(
                manifest_tuple(v1_bad), sign_manifest(v1_bad, source.key, chain_id, reg.address)
            ),
            relayer,
        )
        == "UnexpectedVersion",
        "new dataset must start at 1",
    )
    huge = dict(v1, size=2**56)
    c.check(
        err(
            reg.functions.anchorSnapshot(
                manifest_tuple(huge), sign_manifest(huge, source.key, chain_id, reg.address)
            ),
            relayer,
        )
        == "SizeTooLarge",
        "size >= 2^56 refused",
    )

    # anchor v1 via relayer; digest returned, event, owner
    digest = reg.functions.anchorSnapshot(manifest_tuple(v1), sig).call({"from": relayer})
    receipt = send(reg.functions.anchorSnapshot(manifest_tuple(v1), sig), relayer)
    ev = reg.events.SnapshotAnchored().process_receipt(receipt, errors=DISCARD)[0]["args"]
    c.check(
        ev["signer"] == source.address and ev["version"] == 1 and bytes(ev["digest"]) == bytes(digest),
        "SnapshotAnchored event",
    )
    c.check(bytes(digest) == eip712_digest(v1, chain_id, reg.address), "anchorSnapshot returns digest")
    c.check(
        len(reg.events.DatasetClaimed().process_receipt(receipt, errors=DISCARD)) == 1, "DatasetClaimed event"
    )
    c.check(reg.functions.datasetOwner(ds).call() == source.address, "owner set")
    c.check(reg.functions.latestVersion(ds).call() == 1, "latestVersion 1")
    root, size, signer, block, retracted = reg.functions.snapshotOf(ds, 1).call()
    c.check(
        (bytes(root), size, signer, block, retracted)
        == (v1["root"], v1["size"], source.address, receipt["blockNumber"], False),
        "snapshotOf v1",
    )
    c.check(err(reg.functions.snapshotOf(ds, 2), relayer) == "SnapshotNotFound", "unknown snapshot")
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v1), sig), relayer) == "UnexpectedVersion",
        "replay refused",
    )
    v3 = make_manifest("tm/ratings/daily", 3)
    c.check(
        err(
            reg.functions.anchorSnapshot(
                manifest_tuple(v3), sign_manifest(v3, source.key, chain_id, reg.address)
            ),
            relayer,
        )
        == "UnexpectedVersion",
        "version gap refused",
    )

    # signers
    v2 = make_manifest("tm/ratings/daily", 2, [{"datasetId": ds, "version": 1, "root": v1["root"]}])
    sig2 = sign_manifest(v2, rotated.key, chain_id, reg.address)
    c.check(
        err(reg.functions.anchorSnapshot(manifest_tuple(v2), sig2), relayer) == "NotDatasetSigner",
        "unauthorised signer refused",
    )
    c.check(not reg.functions.isAuthorizedSigner(ds, rotated.address).call(), "not yet authorised")
    c.check(reg.functions.isAuthorizedSigner(ds, source.address).call(), "owner authorised")
    c.check(
        err(reg.functions.authorizeSigner(ds, rotated.address), stranger.address) == "NotDatasetOwner",
        "authorizeSigner by stranger refused",
    )
    c.check(
        err(reg.functions.authorizeSigner(ds, rotated.address), owner) == "NotDatasetOwner",
        "authorizeSigner by contract owner refused",
    )
    send_as(w3, reg.functions.authorizeSigner(ds, rotated.address), source)
    c.check(
        err(reg.functions.authorizeSigner(ds, rotated.address), source.address) == "SignerAlreadyAuthorized",
        "double authorise refused",
    )
    c.check(reg.functions.isAuthorizedSigner(ds, rotated.address).call(), "rotated authorised")
    send(reg.functions.anchorSnapshot(manifest_tuple(v2), sig2), relayer)
    c.check(reg.functions.snapshotOf(ds, 2).call()[2] == rotated.address, "v2 signed by rotated key")

    # retraction
    c.check(
        err(reg.functions.retract(ds, 1, b"\x00" * 32), stranger.address) == "NotDatasetSigner",
        "stranger cannot retract",
    )
    c.check(
        err(reg.functions.retract(ds, 9, b"\x00" * 32), source.address) == "SnapshotNotFound",
        "retract unknown",
    )
    rr = send_as(w3, reg.functions.retract(ds, 1, sha256(b"reason")), rotated)
    c.check(
        len(reg.events.SnapshotRetracted().process_receipt(rr, errors=DISCARD)) == 1,
        "SnapshotRetracted event",
    )
    c.check(reg.functions.snapshotOf(ds, 1).call()[4] is True, "v1 retracted")
    c.check(
        err(reg.functions.retract(ds, 1, b"\x00" * 32), source.address) == "AlreadyRetracted",
        "retract twice refused",
    )

    # revocation: owner revoked -> cannot anchor nor manage; authorised signer still can
    send(reg.functions.revokeSource(source.address), owner)
    c.check(reg.functions.sourceStatus(source.address).call() == 2, "status revoked")
    c.check(
        err(reg.functions.registerSource(source.address), owner) == "SourceIsRevoked",
        "re-register revoked refused",
    )
    c.check(
        err(reg.functions.revokeSource(source.address), owner) == "SourceIsRevoked", "double revoke refused"
    )
    v3 = make_manifest("tm/ratings/daily", 3)
    c.check(
        err(
            reg.functions.anchorSnapshot(
                manifest_tuple(v3), sign_manifest(v3, source.key, chain_id, reg.address)
            ),
            relayer,
        )
        == "SourceIsRevoked",
        "revoked owner cannot anchor",
    )
    c.check(not reg.functions.isAuthorizedSigner(ds, source.address).call(), "revoked owner not authorised")
    c.check(
        err(reg.functions.authorizeSigner(ds, other.address), source.address) == "SourceNotActive",
        "revoked owner cannot authorise",
    )
    send(
        reg.functions.anchorSnapshot(
            manifest_tuple(v3), sign_manifest(v3, rotated.key, chain_id, reg.address)
        ),
        relayer,
    )
    c.check(reg.functions.latestVersion(ds).call() == 3, "rotated key anchors after owner revoked")
    # revoking an authorised signer's key globally
    send(reg.functions.revokeSource(rotated.address), owner)
    v4 = make_manifest("tm/ratings/daily", 4)
    c.check(
        err(
            reg.functions.anchorSnapshot(
                manifest_tuple(v4), sign_manifest(v4, rotated.key, chain_id, reg.address)
            ),
            relayer,
        )
        == "SourceIsRevoked",
        "revoked signer refused",
    )
    c.check(not reg.functions.isAuthorizedSigner(ds, rotated.address).call(), "revoked signer not authorised")

    # removeSigner on a fresh dataset
    send(reg.functions.registerSource(other.address), owner)
    m = make_manifest("tm/other", 1)
    send(
        reg.functions.anchorSnapshot(manifest_tuple(m), sign_manifest(m, other.key, chain_id, reg.address)),
        relayer,
    )
    send_as(w3, reg.functions.authorizeSigner(m["datasetId"], stranger.address), other)
    send_as(w3, reg.functions.removeSigner(m["datasetId"], stranger.address), other)
    c.check(
        err(reg.functions.removeSigner(m["datasetId"], stranger.address), other.address)
        == "SignerNotAuthorized",
        "remove twice refused",
    )
    m2 = make_manifest("tm/other", 2)
    c.check(
        err(
            reg.functions.anchorSnapshot(
                manifest_tuple(m2), sign_manifest(m2, stranger.key, chain_id, reg.address)
            ),
            relayer,
        )
        == "NotDatasetSigner",
        "removed signer refused",
    )


def find_head_slot(w3: Web3, reg: Any, head: int) -> int | None:
    """Storage slot of the checkpoint head (count | latest size | primary), found by its value."""
    for slot in range(64):
        if int.from_bytes(w3.eth.get_storage_at(reg.address, slot), "big") == head:
            return slot
    return None


def check_anchorers(c: Checker, w3: Web3, reg: Any, owner: str, errors: dict[str, str]) -> tuple[str, str]:
    """Anchorer permissions and the primary-anchorer rule before any checkpoint.

    Returns two enabled anchorers, the first of them primary.
    """
    first, second, stranger = accounts(w3)[3:6]
    err: Callable[[Any, str], str | None] = lambda fn, sender: revert_name(fn, sender, errors)  # noqa: E731
    primary: Callable[[], str] = lambda: str(reg.functions.primaryAnchorer().call())  # noqa: E731

    c.check(primary() == ZERO_ADDRESS, "no primary anchorer at deploy")
    c.check(
        err(reg.functions.setAnchorer(first, True), stranger) == "OwnableUnauthorizedAccount",
        "setAnchorer owner only",
    )
    c.check(
        err(reg.functions.setAnchorer(ZERO_ADDRESS, True), owner) == "ZeroAddress", "zero anchorer refused"
    )
    c.check(
        err(reg.functions.setAnchorer(first, False), owner) == "AnchorerUnchanged",
        "disabling a non-anchorer refused",
    )
    receipt = send(reg.functions.setAnchorer(first, True), owner)
    ev = reg.events.AnchorerSet().process_receipt(receipt, errors=DISCARD)
    c.check(
        len(ev) == 1 and (ev[0]["args"]["anchorer"], ev[0]["args"]["enabled"]) == (first, True),
        "AnchorerSet event",
    )
    c.check(reg.functions.isAnchorer(first).call(), "isAnchorer(first)")
    c.check(primary() == first, "first anchorer becomes primary")
    c.check(
        err(reg.functions.setAnchorer(first, True), owner) == "AnchorerUnchanged",
        "no-op setAnchorer refused (primary)",
    )
    send(reg.functions.setAnchorer(second, True), owner)
    c.check(reg.functions.isAnchorer(second).call(), "isAnchorer(second)")
    c.check(primary() == first, "second anchorer does not replace the primary")
    c.check(
        err(reg.functions.setAnchorer(second, True), owner) == "AnchorerUnchanged",
        "no-op setAnchorer refused (non-primary)",
    )
    c.check(not reg.functions.isAnchorer(stranger).call(), "stranger is not an anchorer")
    c.check(not reg.functions.isAnchorer(owner).call(), "owner is not an anchorer")
    return first, second


def check_anchor_refusals(
    c: Checker, reg: Any, tree: Any, prev: int, n: int, sender: str, stranger: str, errors: dict[str, str]
) -> None:
    """Every refusal of a later checkpoint (prev -> n), before it is anchored."""
    err: Callable[[Any, str], str | None] = lambda fn, sender: revert_name(fn, sender, errors)  # noqa: E731
    proof = tree.consistency_proof(prev, n)
    where = f"{prev}->{n}"
    c.check(
        err(reg.functions.anchorCheckpoint(prev, tree.root_at(prev), []), sender)
        == "CheckpointSizeUnchanged",
        f"equal size refused at {where}",
    )
    if prev > 1:
        c.check(
            err(reg.functions.anchorCheckpoint(prev - 1, tree.root_at(prev - 1), []), sender)
            == "CheckpointSizeDecreased",
            f"smaller refused at {where}",
        )
    c.check(
        err(reg.functions.anchorCheckpoint(n, sha256(b"forged"), proof), sender) == "InvalidConsistencyProof",
        f"forged root refused at {where}",
    )
    c.check(
        err(reg.functions.anchorCheckpoint(n, tree.root_at(n), proof[:-1]), sender)
        == "InvalidConsistencyProof",
        f"short proof refused at {where}",
    )
    c.check(
        err(reg.functions.anchorCheckpoint(n, tree.root_at(n), [*proof, proof[-1]]), sender)
        == "InvalidConsistencyProof",
        f"long proof refused at {where}",
    )
    for k in range(len(proof)):
        bad = list(proof)
        bad[k] = sha256(bad[k])
        c.check(
            err(reg.functions.anchorCheckpoint(n, tree.root_at(n), bad), sender) == "InvalidConsistencyProof",
            f"tampered proof node {k} refused at {where}",
        )
    c.check(
        err(reg.functions.anchorCheckpoint(n, tree.root_at(n), proof), stranger) == "NotAnchorer",
        f"stranger refused at {where}",
    )


def check_verify_checkpoint(reg: Any, tree: Any, m: int, latest: int) -> tuple[bool, bool]:
    """(verifyCheckpoint of size m against the latest, the same with a tampered proof or root)."""
    proof = tree.consistency_proof(m, latest) if m != latest else []
    ok = reg.functions.verifyCheckpoint(m, tree.root_at(m), proof).call()
    bad = [reg.functions.verifyCheckpoint(m, sha256(tree.root_at(m)), proof).call()]
    for k in range(len(proof)):
        tampered = list(proof)
        tampered[k] = sha256(tampered[k])
        bad.append(reg.functions.verifyCheckpoint(m, tree.root_at(m), tampered).call())
    return bool(ok), any(bad)


def check_checkpoints(c: Checker, w3: Web3, reg: Any, owner: str, errors: dict[str, str]) -> None:
    err: Callable[[Any, str], str | None] = lambda fn, sender: revert_name(fn, sender, errors)  # noqa: E731
    primary: Callable[[], str] = lambda: str(reg.functions.primaryAnchorer().call())  # noqa: E731
    tree = demo_tree(320)
    stranger, third = accounts(w3)[6:8]
    c.check(err(reg.functions.latestCheckpoint(), stranger) == "NoCheckpoint", "no checkpoint yet")
    c.check(reg.functions.checkpointCount().call() == 0, "count 0")
    c.check(not reg.functions.verifyCheckpoint(5, tree.root_at(5), []).call(), "verifyCheckpoint before any")
    c.check(
        err(reg.functions.anchorCheckpoint(5, tree.root_at(5), []), owner) == "NotAnchorer",
        "owner is not an anchorer",
    )
    c.check(
        err(reg.functions.anchorCheckpoint(5, tree.root_at(5), []), ZERO_ADDRESS) == "NotAnchorer",
        "empty primary matches no one (eth_call from 0x0)",
    )
    first, second = check_anchorers(c, w3, reg, owner, errors)
    c.check(
        err(reg.functions.anchorCheckpoint(5, tree.root_at(5), []), stranger) == "NotAnchorer",
        "non-anchorer refused",
    )
    for who in (first, second):
        c.check(
            err(reg.functions.anchorCheckpoint(0, tree.root_at(0), []), who) == "EmptyCheckpoint",
            f"size 0 refused ({who[:8]})",
        )
        c.check(
            err(reg.functions.anchorCheckpoint(5, tree.root_at(5), [tree.root_at(5)]), who)
            == "UnexpectedProof",
            f"first with proof refused ({who[:8]})",
        )
        c.check(
            err(reg.functions.anchorCheckpoint(5, b"\x00" * 32, []), who) == "ZeroCheckpointRoot",
            f"first with zero root refused ({who[:8]})",
        )

    sizes = [3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 64, 100, 101, 128, 255, 256, 300]
    for i, n in enumerate(sizes):
        sender = first if i % 3 else second  # both the primary check and the `_anchorers` lookup
        proof: list[bytes] = []
        if i > 0:
            check_anchor_refusals(c, reg, tree, sizes[i - 1], n, sender, stranger, errors)
            proof = tree.consistency_proof(sizes[i - 1], n)
        receipt = send(reg.functions.anchorCheckpoint(n, tree.root_at(n), proof), sender)
        ev = reg.events.CheckpointAnchored().process_receipt(receipt, errors=DISCARD)[0]["args"]
        c.check((ev["index"], ev["size"], bytes(ev["root"])) == (i, n, tree.root_at(n)), f"event {i}")
        c.check(reg.functions.checkpointCount().call() == i + 1, f"count {i + 1}")
        idx, size, root = reg.functions.latestCheckpoint().call()
        c.check((idx, size, bytes(root)) == (i, n, tree.root_at(n)), f"latest {i}")
        c.check(primary() == first, f"anchor {i} keeps the primary anchorer")
        for m in sizes[: i + 1]:
            ok, forged = check_verify_checkpoint(reg, tree, m, n)
            c.check(ok and not forged, f"verifyCheckpoint({m}) after {i}")
    c.check(
        err(reg.functions.anchorCheckpoint(5, tree.root_at(5), []), first) == "CheckpointSizeDecreased",
        "a later checkpoint without proof is not a first one",
    )
    # Older checkpoints live in the logs: one eth_getLogs by index or by size finds each.
    for i, m in enumerate(sizes):
        by_size = reg.events.CheckpointAnchored().get_logs(from_block=0, argument_filters={"size": m})
        by_index = reg.events.CheckpointAnchored().get_logs(from_block=0, argument_filters={"index": i})
        c.check(
            [(e["args"]["index"], bytes(e["args"]["root"])) for e in by_size + by_index]
            == [(i, tree.root_at(m))] * 2,
            f"CheckpointAnchored log of size {m} / index {i}",
        )
    # Sizes never anchored: any log size up to the latest verifies with a consistency proof; the
    # empty log and sizes past the latest never do.
    for m in (1, 2, 6, 7, 10, 99, 254):
        assert m not in sizes
        ok, forged = check_verify_checkpoint(reg, tree, m, sizes[-1])
        none = reg.events.CheckpointAnchored().get_logs(from_block=0, argument_filters={"size": m})
        c.check(ok and not forged and not none, f"verifyCheckpoint({m}), never anchored")
    for m in (0, 301, 2**64 - 1):
        c.check(
            not reg.functions.verifyCheckpoint(m, tree.root_at(min(m, 320)), []).call(),
            f"verifyCheckpoint({m}) refused",
        )

    # Primary-anchorer bookkeeping once checkpoints exist; setAnchorer must keep count and size.
    latest = reg.functions.latestCheckpoint().call()
    receipt = send(reg.functions.setAnchorer(first, False), owner)
    ev = reg.events.AnchorerSet().process_receipt(receipt, errors=DISCARD)
    c.check(
        len(ev) == 1 and (ev[0]["args"]["anchorer"], ev[0]["args"]["enabled"]) == (first, False),
        "AnchorerSet(disable) event",
    )
    c.check(primary() == ZERO_ADDRESS, "disabling the primary clears it")
    c.check(not reg.functions.isAnchorer(first).call(), "disabled primary is no anchorer")
    c.check(reg.functions.latestCheckpoint().call() == latest, "setAnchorer keeps the checkpoint head")
    n = 302
    proof = tree.consistency_proof(sizes[-1], n)
    c.check(
        err(reg.functions.anchorCheckpoint(n, tree.root_at(n), proof), first) == "NotAnchorer",
        "disabled primary refused",
    )
    c.check(
        err(reg.functions.anchorCheckpoint(n, tree.root_at(n), proof), ZERO_ADDRESS) == "NotAnchorer",
        "empty primary matches no one after disabling",
    )
    c.check(
        err(reg.functions.setAnchorer(first, False), owner) == "AnchorerUnchanged", "disabling twice refused"
    )
    send(reg.functions.anchorCheckpoint(n, tree.root_at(n), proof), second)
    c.check(reg.functions.latestCheckpoint().call()[1] == n, "non-primary anchors with no primary set")
    c.check(primary() == ZERO_ADDRESS, "an anchor by a non-primary sets no primary")
    send(reg.functions.setAnchorer(third, True), owner)
    c.check(primary() == third, "next enabled anchorer becomes primary")
    send(reg.functions.setAnchorer(first, True), owner)
    c.check(
        primary() == third and reg.functions.isAnchorer(first).call(), "re-enabled anchorer is not primary"
    )
    send(reg.functions.setAnchorer(second, False), owner)
    c.check(primary() == third, "disabling a non-primary keeps the primary")
    c.check(not reg.functions.isAnchorer(second).call(), "disabled non-primary is no anchorer")
    c.check(
        err(reg.functions.anchorCheckpoint(303, tree.root_at(303), tree.consistency_proof(n, 303)), second)
        == "NotAnchorer",
        "disabled non-primary refused",
    )
    for who, m in ((third, 305), (first, 310)):
        send(reg.functions.anchorCheckpoint(m, tree.root_at(m), tree.consistency_proof(n, m)), who)
        c.check(reg.functions.verifyCheckpoint(m, tree.root_at(m), []).call(), f"anchor {m} by {who[:8]}")
        n = m
    c.check(primary() == third, "primary kept across anchors")
    count = len(sizes) + 3
    c.check(reg.functions.checkpointCount().call() == count, "final count")

    # The count is a uint32 in the head slot: at 2^32 - 1 the next anchor must panic, not wrap.
    slot = find_head_slot(w3, reg, count << 224 | n << 160 | int(third, 16))
    c.check(slot is not None, "checkpoint head slot found")
    if slot is not None:
        snap = snapshot_id(w3)
        full = (2**32 - 1) << 224 | n << 160 | int(third, 16)
        w3.provider.make_request(
            RPCEndpoint("anvil_setStorageAt"), [reg.address, hex(slot), "0x" + full.to_bytes(32, "big").hex()]
        )
        c.check(reg.functions.checkpointCount().call() == 2**32 - 1, "count at 2^32 - 1")
        got = err(
            reg.functions.anchorCheckpoint(320, tree.root_at(320), tree.consistency_proof(n, 320)), third
        )
        c.check(got is not None and PANIC_OVERFLOW in got, f"count overflow panics: {got}")
        revert_to(w3, snap)
        c.check(reg.functions.checkpointCount().call() == count, "count restored")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hardfork")
    args = parser.parse_args()
    c = Checker()
    with anvil(args.hardfork) as w3:
        owner = accounts(w3)[0]
        reg = deploy(w3, owner)
        errors = error_selectors(reg.abi)
        c.check(reg.functions.owner().call() == owner, "owner")
        check_vectors(c, reg)
        check_merkle_exhaustive(c, reg)
        check_snapshots(c, w3, reg, owner, errors)
        check_checkpoints(c, w3, reg, owner, errors)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
