"""RFC 9162 tree, proofs and verification: vectors, a naive reference, and refusals."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import merkle, merkle_levels
from provenance.errors import ProofError, RootMismatchError
from tests.vectors import VECTORS

RFC = VECTORS / "rfc9162"


def b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def load_cases(kind: str) -> list[tuple[str, dict]]:
    cases = sorted((RFC / kind).glob("*/*.json"))
    assert cases, f"no {kind} vectors found"
    return [(str(p.relative_to(RFC)), json.loads(p.read_text())) for p in cases]


# --- naive recursive reference (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 as written) -------------


def naive_root(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + naive_root(leaves[:k]) + naive_root(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_root(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_root(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_root(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*naive_subproof(m, leaves[:k], b), naive_root(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_root(leaves[:k])]


def naive_consistency(m: int, leaves: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(leaves)) else naive_subproof(m, leaves, True)


def leaves_of(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(n)]


# --- shipped vectors --------------------------------------------------------------------------


def test_roots_json() -> None:
    data = json.loads((RFC / "roots.json").read_text())
    inputs = [bytes.fromhex(x) for x in data["leaf_inputs_hex"]]
    for n, want in enumerate(data["root_by_tree_size_hex"]):
        tree = merkle.MerkleTree.from_leaf_inputs(inputs[:n])
        assert tree.root.hex() == want
        assert naive_root(inputs[:n]).hex() == want


@pytest.mark.parametrize(
    ("name", "case"), load_cases("inclusion"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_inclusion_vector(name: str, case: dict) -> None:
    args = (
        b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        [b64(p) for p in case["proof"] or []],
        b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize(
    ("name", "case"), load_cases("consistency"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_consistency_vector(name: str, case: dict) -> None:
    args = (
        case["size1"],
        case["size2"],
        b64(case["root1"]),
        b64(case["root2"]),
        [b64(p) for p in case["proof"] or []],
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_vector_counts() -> None:
    # Guards against a glob silently matching nothing after a move.
    assert len(load_cases("inclusion")) >= 60
    assert len(load_cases("consistency")) >= 80


# --- against the naive reference, every size 0..300 ----------------------------------------


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=0, max_value=300), data=st.data())
def test_tree_matches_naive_reference(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    tree = merkle.MerkleTree.from_leaf_inputs(leaves)
    assert tree.size == n
    assert tree.root == naive_root(leaves)
    if n == 0:
        return
    i = data.draw(st.integers(0, n - 1))
    path = tree.inclusion_proof(i)
    assert path == naive_path(i, leaves)
    merkle.verify_inclusion(merkle.hash_leaf(leaves[i]), i, n, path, tree.root)
    m = data.draw(st.integers(0, n))
    proof = tree.consistency_proof(m)
    assert proof == naive_consistency(m, leaves)
    merkle.verify_consistency(m, n, naive_root(leaves[:m]), tree.root, proof)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=1, max_value=300), data=st.data())
def test_proofs_for_older_sizes_from_a_larger_tree(n: int, data: st.DataObject) -> None:
    """A grown tree still proves against any earlier size (the ledger log needs this)."""
    leaves = leaves_of(n)
    tree = merkle.MerkleTree.from_leaf_inputs(leaves)
    size2 = data.draw(st.integers(1, n))
    size1 = data.draw(st.integers(0, size2))
    i = data.draw(st.integers(0, size2 - 1))
    assert tree.root_at(size2) == naive_root(leaves[:size2])
    assert tree.inclusion_proof(i, size2) == naive_path(i, leaves[:size2])
    assert tree.consistency_proof(size1, size2) == naive_consistency(size1, leaves[:size2])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=1, max_value=80), data=st.data())
def test_any_flipped_bit_in_an_inclusion_proof_is_refused(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    tree = merkle.MerkleTree.from_leaf_inputs(leaves)
    i = data.draw(st.integers(0, n - 1))
    leaf = merkle.hash_leaf(leaves[i])
    path = tree.inclusion_proof(i)
    blob = bytearray(leaf + b"".join(path) + tree.root)
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    hashes = [bytes(blob[j : j + 32]) for j in range(0, len(blob), 32)]
    with pytest.raises(RootMismatchError):
        merkle.verify_inclusion(hashes[0], i, n, hashes[1:-1], hashes[-1])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=2, max_value=80), data=st.data())
def test_any_flipped_bit_in_a_consistency_proof_is_refused(n: int, data: st.DataObject) -> None:
    leaves = leaves_of(n)
    tree = merkle.MerkleTree.from_leaf_inputs(leaves)
    m = data.draw(st.integers(1, n - 1))
    proof = tree.consistency_proof(m)
    blob = bytearray(tree.root_at(m) + tree.root + b"".join(proof))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    hashes = [bytes(blob[j : j + 32]) for j in range(0, len(blob), 32)]
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, hashes[0], hashes[1], hashes[2:])


# --- malformed input is refused with a typed error -------------------------------------------


def test_malformed_inclusion_input() -> None:
    tree = merkle.MerkleTree.from_leaf_inputs(leaves_of(5))
    leaf, path, root = merkle.hash_leaf(leaves_of(5)[2]), tree.inclusion_proof(2), tree.root
    cases = [
        ((leaf, 5, 5, path, root), "proof.index-out-of-range"),
        ((leaf, -1, 5, path, root), "proof.index-out-of-range"),
        ((leaf[:31], 2, 5, path, root), "proof.bad-hash-length"),
        ((leaf, 2, 5, path, root + b"\x00"), "proof.bad-hash-length"),
        ((leaf, 2, 5, [*path[:-1], path[-1][:16]], root), "proof.bad-hash-length"),
        ((leaf, 2, 5, path[:-1], root), "proof.wrong-length"),
        ((leaf, 2, 5, [*path, path[0]], root), "proof.wrong-length"),
        ((leaf, 2, 2**64, path, root), "proof.bad-size"),
        ((leaf, 2, 5, [root] * 200, root), "proof.wrong-length"),
    ]
    for args, code in cases:
        with pytest.raises(ProofError) as err:
            merkle.verify_inclusion(*args)
        assert err.value.code == code, args


def test_malformed_consistency_input() -> None:
    tree = merkle.MerkleTree.from_leaf_inputs(leaves_of(7))
    r3, r7, proof = tree.root_at(3), tree.root, tree.consistency_proof(3)
    cases = [
        ((7, 3, r7, r3, proof), "proof.bad-size"),
        ((3, 7, r3, r7, []), "proof.wrong-length"),
        ((3, 7, r3, r7, proof[:-1]), "proof.wrong-length"),
        ((3, 7, r3, r7, [*proof, r3]), "proof.wrong-length"),
        ((3, 7, r3[:5], r7, proof), "proof.bad-hash-length"),
        ((0, 7, merkle.EMPTY_ROOT, r7, proof), "proof.wrong-length"),
        ((7, 7, r7, r7, proof), "proof.wrong-length"),
        ((7, 7, r7, r3, []), "proof.root-mismatch"),
    ]
    for args, code in cases:
        with pytest.raises(ProofError) as err:
            merkle.verify_consistency(*args)
        assert err.value.code == code, args


def test_proof_generation_refuses_out_of_range() -> None:
    tree = merkle.MerkleTree.from_leaf_inputs(leaves_of(4))
    with pytest.raises(ProofError):
        tree.inclusion_proof(4)
    with pytest.raises(ProofError):
        tree.consistency_proof(5)
    with pytest.raises(ProofError):
        tree.root_at(5)
    with pytest.raises(ProofError):
        merkle.MerkleTree.from_leaf_hashes([b"\x00" * 31])


def test_root_mismatch_error_names_both_roots() -> None:
    err = RootMismatchError(b"\x01" * 32, b"\x02" * 32)
    assert "01" * 32 in str(err)
    assert "02" * 32 in str(err)


# --- the native loops are byte-identical to the pure reference --------------------------------


def test_native_extension_is_built() -> None:
    """The speed bar depends on it; a fresh clone's setup must build it."""
    assert merkle.NATIVE


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=100), max_size=70), st.integers(1, 3))
def test_native_and_pure_levels_agree(leaves: list[bytes], threads: int) -> None:
    level0 = merkle.leaf_hashes(leaves)
    assert level0 == b"".join(hashlib.sha256(b"\x00" + x).digest() for x in leaves)
    if not leaves:
        return
    levels = merkle.build_levels(level0, threads=threads)
    assert levels[-1] == naive_root(leaves)


def test_threaded_build_matches_on_a_large_level() -> None:
    leaves = leaves_of(3 * merkle._THREAD_MIN_PAIRS + 3)
    one = merkle.MerkleTree.from_leaf_inputs(leaves, threads=1)
    two = merkle.MerkleTree.from_leaf_inputs(leaves, threads=2)
    assert one.root == two.root == naive_root(leaves)


@given(n=st.integers(min_value=1, max_value=600), start=st.integers(min_value=0, max_value=600))
def test_inclusion_paths_equal_inclusion_proofs(n: int, start: int) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    levels = merkle.build_levels(merkle.leaf_hashes(leaves))
    tree = merkle.MerkleTree.from_leaf_inputs(leaves)
    start = min(start, n - 1)
    paths = list(merkle_levels.inclusion_paths(levels, start))
    assert len(paths) == n - start
    for i, path in enumerate(paths, start):
        assert path == tree.inclusion_proof(i)
        merkle.verify_inclusion(tree.leaf_hash(i), i, n, path, tree.root)


@given(
    n=st.integers(min_value=1, max_value=600),
    start=st.integers(min_value=0, max_value=600),
    length=st.integers(min_value=0, max_value=600),
)
def test_path_digests_equal_the_digest_of_each_inclusion_proof(n: int, start: int, length: int) -> None:
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    levels = merkle.build_levels(merkle.leaf_hashes(leaves))
    tree = merkle.MerkleTree.from_leaf_inputs(leaves)
    start = min(start, n)
    stop = min(start + length, n)
    got = merkle_levels.path_digests(levels, start, stop)
    want = b"".join(merkle_levels.path_digest(tree.inclusion_proof(i)) for i in range(start, stop))
    assert got == want and len(got) == 32 * (stop - start)
    if stop > start:  # a digest names its path exactly: a changed hash changes it
        path = tree.inclusion_proof(start)
        if path:
            path[-1] = bytes(32)
            assert merkle_levels.path_digest(path) != got[:32]


@given(
    n=st.integers(min_value=1, max_value=1100),
    start=st.integers(min_value=0, max_value=1200),
    length=st.integers(min_value=0, max_value=1200),
)
def test_the_native_path_digests_are_the_python_ones(n: int, start: int, length: int) -> None:
    assert merkle_levels.native_path_digests is not None, "built by the project's setup"
    levels = merkle.build_levels(merkle.leaf_hashes([i.to_bytes(4, "big") for i in range(n)]))
    start = min(start, n)
    stop = min(start + length, n)
    got = merkle_levels.path_digests(levels, start, stop)
    assert got == merkle_levels.py_path_digests(levels, start, stop) and len(got) == 32 * (stop - start)


@pytest.mark.parametrize(
    ("levels", "start", "stop", "message"),
    [
        ([], 0, 1, "between 1 and 62 levels"),
        ([b"x" * 31], 0, 1, "level 0 is not bytes of whole hashes"),
        ([b"x" * 32], -1, 1, "leaf range out of bounds"),
        ([b"x" * 32], 0, 2, "leaf range out of bounds"),
        ([b"x" * 32] * 63, 0, 1, "between 1 and 62 levels"),
    ],
)
def test_the_native_path_digests_refuse_what_is_not_a_tree(
    levels: list[bytes], start: int, stop: int, message: str
) -> None:
    assert merkle_levels.native_path_digests is not None
    with pytest.raises(ValueError, match=message):
        merkle_levels.native_path_digests(levels, start, stop)
