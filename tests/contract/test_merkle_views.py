"""verifyInclusion / verifyConsistency: the RFC 9162 vectors, and every proof of trees up to 70 leaves.

The sweep compares the contract with the project's Merkle code (`provenance.merkle`), which the
unit tests hold to the same vectors: every proof of each tree size verifies, and the same proof
tampered with, cut short, extended or checked against another root or index does not.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from tests.contract.harness import UINT64_MAX, check_views, demo_tree, sha256, tampered

pytestmark = pytest.mark.chain

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc9162"
TREE = demo_tree(70)
SIZES = (1, 2, 3, 5, 8, 13, 31, 32, 33, 64, 70)
# Sizes whose inclusion proofs are never empty and that have an earlier size to be consistent with.
SIZES_WITH_PROOFS = tuple(n for n in SIZES if n > 1)


def by_size(sizes: tuple[int, ...]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("n", sizes, ids=lambda n: f"n={n}")


def vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).glob("*/*.json"))


def vector_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def b64(x: str | None) -> bytes:
    return base64.b64decode(x or "")


def load_vector(path: Path) -> dict[str, Any]:
    v: dict[str, Any] = json.loads(path.read_text())
    v["proof"] = [b64(p) for p in v["proof"] or []]
    return v


def all_bytes32(*hashes: bytes) -> bool:
    return all(len(h) == 32 for h in hashes)


# --------------------------------------------------------------------------- RFC 9162 vectors


@pytest.mark.parametrize("path", vector_files("inclusion"), ids=vector_id)
def test_inclusion_vector(deployed: Contract, path: Path) -> None:
    v = load_vector(path)
    root, leaf = b64(v["root"]), b64(v["leafHash"])
    if not all_bytes32(root, leaf, *v["proof"]):
        # The ABI cannot carry such a hash at all; only a vector that must be refused may have one.
        assert v["wantErr"], "valid vector not encodable as bytes32"
        return
    got = deployed.functions.verifyInclusion(root, v["treeSize"], v["leafIdx"], leaf, v["proof"]).call()
    assert got is (not v["wantErr"]), f"verifyInclusion={got} wantErr={v['wantErr']} ({v['desc']})"


@pytest.mark.parametrize("path", vector_files("consistency"), ids=vector_id)
def test_consistency_vector(deployed: Contract, path: Path) -> None:
    v = load_vector(path)
    root1, root2 = b64(v["root1"]), b64(v["root2"])
    if not all_bytes32(root1, root2, *v["proof"]):
        assert v["wantErr"], "valid vector not encodable as bytes32"
        return
    got = deployed.functions.verifyConsistency(v["size1"], v["size2"], root1, root2, v["proof"]).call()
    assert got is (not v["wantErr"]), f"verifyConsistency={got} wantErr={v['wantErr']} ({v['desc']})"


def test_vector_sets_are_present() -> None:
    """Guards the two tests above against a moved or emptied vector folder (they would pass vacuously)."""
    hashes = {"inclusion": ("root", "leafHash"), "consistency": ("root1", "root2")}
    encodable = {
        kind: sum(
            all_bytes32(*(b64(v[key]) for key in keys), *v["proof"])
            for v in map(load_vector, vector_files(kind))
        )
        for kind, keys in hashes.items()
    }
    assert all(count > 50 for count in encodable.values()), encodable


# --------------------------------------------------------------------------- every proof of small trees


def inclusion(reg: Contract, i: int, n: int, proof: list[bytes]) -> ContractFunction:
    return reg.functions.verifyInclusion(TREE.root_at(n), n, i, TREE.leaf_hash(i), proof)


def consistency(
    reg: Contract, m: int, n: int, proof: list[bytes], root1: bytes | None = None
) -> ContractFunction:
    return reg.functions.verifyConsistency(m, n, root1 or TREE.root_at(m), TREE.root_at(n), proof)


@by_size(SIZES)
def test_every_inclusion_proof_verifies(deployed: Contract, n: int) -> None:
    proofs = [TREE.inclusion_proof(i, n) for i in range(n)]
    check_views((f"inclusion {i}/{n}", inclusion(deployed, i, n, p), True) for i, p in enumerate(proofs))


@by_size(SIZES_WITH_PROOFS)
def test_tampered_inclusion_proofs_fail(deployed: Contract, n: int) -> None:
    proofs = [TREE.inclusion_proof(i, n) for i in range(n)]
    check_views(
        (f"tampered inclusion {i}/{n}", inclusion(deployed, i, n, tampered(p, -1)), False)
        for i, p in enumerate(proofs)
    )


@by_size(SIZES_WITH_PROOFS)
def test_extended_inclusion_proofs_fail(deployed: Contract, n: int) -> None:
    proofs = [TREE.inclusion_proof(i, n) for i in range(n)]
    check_views(
        (f"extended {i}/{n}", inclusion(deployed, i, n, [*p, TREE.root_at(n)]), False)
        for i, p in enumerate(proofs)
    )


@by_size(SIZES)
def test_leaf_index_equal_to_size_fails(deployed: Contract, n: int) -> None:
    assert not deployed.functions.verifyInclusion(TREE.root_at(n), n, n, TREE.leaf_hash(0), []).call()


def consistency_proofs(n: int) -> dict[int, list[bytes]]:
    """{m: the consistency proof from m to n} for every earlier size m >= 1."""
    return {m: TREE.consistency_proof(m, n) for m in range(1, n)}


@by_size(SIZES_WITH_PROOFS)
def test_every_consistency_proof_verifies(deployed: Contract, n: int) -> None:
    proofs = consistency_proofs(n)
    check_views((f"consistency {m}->{n}", consistency(deployed, m, n, p), True) for m, p in proofs.items())


@by_size(SIZES_WITH_PROOFS)
def test_short_consistency_proofs_fail(deployed: Contract, n: int) -> None:
    proofs = consistency_proofs(n)
    check_views((f"short {m}->{n}", consistency(deployed, m, n, p[:-1]), False) for m, p in proofs.items())


@by_size(SIZES_WITH_PROOFS)
def test_consistency_with_a_wrong_first_root_fails(deployed: Contract, n: int) -> None:
    proofs = consistency_proofs(n)
    check_views(
        (f"bad root1 {m}->{n}", consistency(deployed, m, n, p, sha256(b"x")), False)
        for m, p in proofs.items()
    )


def test_maximal_inclusion_is_refused_without_reverting(deployed: Contract) -> None:
    fn = deployed.functions.verifyInclusion(
        b"\x01" * 32, UINT64_MAX, UINT64_MAX - 1, b"\x02" * 32, [b"\x03" * 32] * 64
    )
    assert fn.call() is False


def test_maximal_consistency_is_refused_without_reverting(deployed: Contract) -> None:
    fn = deployed.functions.verifyConsistency(1, UINT64_MAX, b"\x01" * 32, b"\x02" * 32, [b"\x03" * 32] * 64)
    assert fn.call() is False
