"""A published version (a JSON Lines collection with a proof on every record) verified by worker
processes, each reading its own byte range of the file: the verdict must be the one of reading
it line by line, whatever is wrong with the file and wherever."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import merkle_levels
from provenance.proofs import collection, collection_lines, snapshot
from provenance.proofs.collection_stream import verify_stream
from provenance.proofs.verify import Policy
from tests import factories

N = 300
# Runs in a fresh process (one thread, so it may fork), with ranges small enough that 300 records
# make ~30 of them, and says how many workers it used.
IN_WORKERS = """
import json, sys
from pathlib import Path
from provenance.proofs import collection_stream as cs
from provenance.proofs.verify import Policy
cs.RANGE_BYTES = 4096
path = Path(sys.argv[1])
workers = cs._worker_count(2, path)
verdict = cs.verify_file(path, policy=Policy(offline=True), workers=2)
print(json.dumps({"workers": workers, "ranges": len(cs._ranges(path.open("rb"), path.stat().st_size)),
                  "verdict": verdict.to_json()}))
"""


def published(n: int = N) -> list[bytes]:
    records = [
        {"symbol": f"T{i}", "date": "2026-11-27", "trader_grade": i % 100, "price": i + 0.5} for i in range(n)
    ]
    snap = factories.snapshot(records)
    proof = snapshot.of_bundle(factories.proof_bundle(snap))
    lines = [json.dumps(collection.jsonl_header([proof], n)).encode()]
    for i, leaf in enumerate(snap.leaves):
        lines.append(collection.jsonl_record(0, ["symbol"], leaf, i, snap.tree.inclusion_proof(i)))
    return lines


def both(lines: list[bytes], tmp_path: Path, end: bytes = b"\n") -> dict[str, Any]:
    """The verdict of reading ``lines`` line by line, required equal to the workers' verdict."""
    serial = verify_stream(lines, policy=Policy(offline=True)).to_json()
    path = tmp_path / "published.jsonl"
    path.write_bytes(b"\n".join(lines) + end)
    out = subprocess.run(
        [sys.executable, "-c", IN_WORKERS, str(path)], capture_output=True, text=True, check=True
    )
    parallel = json.loads(out.stdout)
    assert parallel["workers"] == 2 and parallel["ranges"] > 10
    assert parallel["verdict"] == serial
    return serial


def test_a_whole_version_verifies_in_workers(tmp_path: Path) -> None:
    verdict = both(published(), tmp_path)
    assert verdict["status"] == "valid" and verdict["records"]["valid"] == N


def test_a_changed_record_fails_the_root_in_workers(tmp_path: Path) -> None:
    lines = published()
    rec = json.loads(lines[150])
    rec["entry"]["record"]["price"] = 1.25
    lines[150] = json.dumps(rec).encode()
    verdict = both(lines, tmp_path)
    assert [f["reason"] for f in verdict["failures"]] == ["inclusion.root-mismatch"]


def test_a_wrong_path_is_named_by_its_record_in_workers(tmp_path: Path) -> None:
    lines = published()
    rec = json.loads(lines[222])
    rec["inclusionPath"][2] = "0x" + "11" * 32
    lines[222] = json.dumps(rec).encode()
    verdict = both(lines, tmp_path)
    assert [(f["reason"], f["where"]) for f in verdict["failures"]] == [
        ("inclusion.bad-path", 'tm/ratings/daily@1 key ["T221"]')
    ]
    assert verdict["records"]["valid"] == N - 1


@pytest.mark.parametrize("at", [1, 137, N])
def test_an_unreadable_line_is_named_by_its_line_in_workers(tmp_path: Path, at: int) -> None:
    lines = published()
    lines[at] = b'{"snapshot": 0, "entry": not json'
    verdict = both(lines, tmp_path)
    reasons = [(f["reason"], f["where"]) for f in verdict["failures"]]
    assert reasons[0] == ("collection.bad-record", f"line {at + 1}")
    assert reasons[1][0] == "inclusion.root-mismatch"  # its place was kept: the root fails, not the order
    assert verdict["records"] == {"count": N, "valid": 0}  # the root fails for all; no record counted twice


def test_a_file_cut_inside_a_line_counts_each_record_once(tmp_path: Path) -> None:
    lines = published()
    cut = [*lines[:64], lines[64][: len(lines[64]) // 2]]  # as a download that stopped mid-record
    verdict = both(cut, tmp_path, end=b"")
    assert [f["reason"] for f in verdict["failures"]] == [
        "collection.bad-record",
        "collection.truncated-file",
        "collection.not-whole",
    ]
    assert verdict["records"] == {"count": 64, "valid": 0}


def test_blank_lines_and_a_missing_last_newline_change_nothing(tmp_path: Path) -> None:
    lines = published()
    spaced = [*lines[:100], b"", b"   ", *lines[100:200], b"\r", *lines[200:]]
    assert both(spaced, tmp_path, end=b"")["status"] == "valid"


def test_a_cut_off_or_reordered_file_is_reported_in_workers(tmp_path: Path) -> None:
    lines = published()
    cut = both(lines[:-40], tmp_path)
    assert [f["reason"] for f in cut["failures"]] == ["collection.truncated-file", "collection.not-whole"]
    swapped = [lines[0], *lines[1:50], lines[51], lines[50], *lines[52:]]
    verdict = both(swapped, tmp_path)
    assert [f["reason"] for f in verdict["failures"]] == ["collection.not-whole"]
    assert verdict["records"]["valid"] == 0


def test_a_path_in_another_spelling_is_judged_by_its_hashes(tmp_path: Path) -> None:
    lines = published()
    rec = json.loads(lines[77])
    rec["inclusionPath"] = [h.upper().replace("0X", "0x") for h in rec["inclusionPath"]]
    lines[77] = json.dumps(rec).encode()
    assert both(lines, tmp_path)["status"] == "valid"  # the same hashes: fromhex reads either case
    rec["inclusionPath"][0] = rec["inclusionPath"][0][:-2]  # 31 bytes: not the tree's
    lines[77] = json.dumps(rec).encode()
    verdict = both(lines, tmp_path)
    assert [f["reason"] for f in verdict["failures"]] == ["inclusion.bad-path"]


@given(
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=24),
    upper=st.sets(st.integers(0, 23)),
)
def test_a_paths_text_digest_is_its_hashes_digest(hashes: list[bytes], upper: set[int]) -> None:
    text = ["0x" + h.hex() for h in hashes]
    assert collection_lines._path_digest(text) == merkle_levels.path_digest(hashes)
    spelled = [t.upper().replace("0X", "0x") if i in upper else t for i, t in enumerate(text)]
    assert collection_lines._path_digest(spelled) == merkle_levels.path_digest(hashes)
    if hashes:  # a misplaced boundary between two hashes is not the same path
        moved = [text[0] + "0", *text[1:]]
        assert collection_lines._path_digest(moved) != merkle_levels.path_digest(hashes)


hash_texts = st.binary(min_size=32, max_size=32).map(lambda h: "0x" + h.hex())
odd_items = st.one_of(
    hash_texts.map(str.upper),  # "0X..." and upper-case digits
    hash_texts.map(lambda t: t[:-1]),  # 65 characters
    hash_texts.map(lambda t: t + "0"),  # 67 characters
    hash_texts.map(lambda t: t[:10] + "g" + t[11:]),  # not hex
    hash_texts.map(lambda t: t[:10] + "\u00e9" + t[12:]),  # not ASCII, 66 characters
    st.text(max_size=70),
    st.integers(),
    st.none(),
    st.binary(min_size=66, max_size=66),
)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(hash_texts, max_size=24) | st.lists(st.one_of(hash_texts, odd_items), max_size=24),
    st.booleans(),
)
def test_the_native_path_digest_is_the_python_one(path: list[object], as_tuple: bool) -> None:
    assert merkle_levels.native_path_text_digest is not None, "built by the project's setup"
    given: object = tuple(path) if as_tuple else path
    native = collection_lines.text_digest(given)
    assert native == collection_lines.py_text_digest(given)
    if native is not None:
        assert native == merkle_levels.path_digest([bytes.fromhex(str(t)[2:]) for t in path])
