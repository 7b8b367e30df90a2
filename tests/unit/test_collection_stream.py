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
from provenance.errors import FormatError
from provenance.proofs import collection, collection_lines, collection_stream, snapshot
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
if int(sys.argv[2]):
    from provenance.proofs import collection_lines
    collection_lines.MAX_LINE_BYTES = int(sys.argv[2])
path = Path(sys.argv[1])
workers = cs._worker_count(2, path)
verdict = cs.verify_file(path, policy=Policy(offline=True), workers=2)
serial = cs.verify_file(path, policy=Policy(offline=True), workers=1)
print(json.dumps({"workers": workers, "ranges": len(cs._ranges(path.open("rb"), path.stat().st_size)),
                  "verdict": verdict.to_json(), "serial": serial.to_json()}))
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


def both(lines: list[bytes], tmp_path: Path, end: bytes = b"\n", limit: int = 0) -> dict[str, Any]:
    """The verdict of reading ``lines`` line by line (from a list and from the file in one
    process), required equal to the workers' verdict."""
    path = tmp_path / "published.jsonl"
    path.write_bytes(b"\n".join(lines) + end)
    out = subprocess.run(
        [sys.executable, "-c", IN_WORKERS, str(path), str(limit)], capture_output=True, text=True, check=True
    )
    serial = json.loads(out.stdout)["serial"]
    if not limit:  # a list's lines are not cut to a limit: the file's reader does that
        assert verify_stream(lines, policy=Policy(offline=True)).to_json() == serial
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
    rec["inclusionPath"][0] = rec["inclusionPath"][0][:-2]  # 31 bytes: not a hash
    lines[77] = json.dumps(rec).encode()
    verdict = both(lines, tmp_path)
    assert next((f["reason"], f["detail"]) for f in verdict["failures"]) == (
        "collection.bad-record",
        "inclusionPath[0] is not a hash (0x and 64 hex digits)",
    )


FIELDS = "a record line is an object with exactly snapshot, key, entry, leafIndex and inclusionPath"
INDEX = "leafIndex must be an integer from 0 to 2^64-1"
SNAPSHOT = "snapshot must be the number of one of the header's 1 snapshot(s)"
PATH = "inclusionPath must be a list of up to 64 hashes"
HASH0 = "inclusionPath[0] is not a hash (0x and 64 hex digits)"
HOSTILE_FIELDS = [
    ("leafIndex", 2**64, INDEX),  # orjson reads it as a float
    ("leafIndex", 2**63, None),  # a valid uint64, not this record's
    ("leafIndex", -1, INDEX),
    ("leafIndex", "3", INDEX),
    ("leafIndex", True, INDEX),
    ("leafIndex", 3.0, INDEX),
    ("snapshot", 1, SNAPSHOT),
    ("snapshot", -1, SNAPSHOT),
    ("snapshot", True, SNAPSHOT),
    ("snapshot", "0", SNAPSHOT),
    ("key", [], "key must be a list of 1 to 64 values"),
    ("key", "T5", "key must be a list of 1 to 64 values"),
    ("entry", [], "entry must be an object"),
    ("inclusionPath", "0x" + "ab" * 32, PATH),
    ("inclusionPath", ["0x" + "ab" * 32] * 65, PATH),
    ("inclusionPath", ["abc"], HASH0),
    ("inclusionPath", ["zz" + "ab" * 32], HASH0),
    ("inclusionPath", ["0X" + "ab" * 32], HASH0),
    ("inclusionPath", [None], HASH0),
    ("extra", 1, FIELDS),
    ("leafIndex", KeyError, FIELDS),  # the field left out
]


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE_FIELDS)
def test_a_record_line_is_held_to_the_collection_schema(
    tmp_path: Path, field: str, value: Any, message: str | None
) -> None:
    lines = published()
    rec = json.loads(lines[6])
    if value is KeyError:
        del rec[field]
    else:
        rec[field] = value
    lines[6] = json.dumps(rec).encode()
    verdict = both(lines, tmp_path)
    if message is None:  # well formed: the record is simply not where it says
        assert [f["reason"] for f in verdict["failures"]] == ["collection.not-whole"]
        return
    where = 'tm/ratings/daily@1 key ["T5"]' if message == HASH0 else "line 7"  # named once its key is read
    assert next((f["reason"], f["where"], f["detail"]) for f in verdict["failures"]) == (
        "collection.bad-record",
        where,
        message,
    )
    assert verdict["records"] == {"count": N, "valid": 0}  # its place kept: the root fails


def test_a_line_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    lines = published()
    lines[9] = lines[9][:-1] + b', "pad": "' + b"x" * 9000 + b'"}'
    verdict = both(lines, tmp_path, limit=8192)
    assert next((f["reason"], f["where"], f["detail"]) for f in verdict["failures"]) == (
        "collection.bad-record",
        "line 10",
        "the line is longer than 8192 bytes",
    )
    assert verdict["records"] == {"count": N, "valid": 0}


def test_lines_are_read_in_bounded_pieces(tmp_path: Path) -> None:
    path = tmp_path / "lines"
    path.write_bytes(b"a\n" + b"b" * 100 + b"\n\nccc\n" + b"d" * 50)
    with path.open("rb") as f:
        got = [
            line
            for lines in collection_stream._lines(f, 2, path.stat().st_size, chunk=7, limit=20)
            for line in lines
        ]
    assert got == [b"b" * 21, b"", b"ccc", b"d" * 21]  # cut to limit + 1: refused as too long


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            {"recordCount": 10**30},
            (
                "line 1 (the header): not valid JSON: recordCount: an integer of 31 digits is outside"
                " ±(2^53-1); write it as a string"
            ),
        ),
        ({"recordCount": -5}, "the header needs snapshots and a recordCount (an integer, 0 or more)"),
        ({"recordCount": True}, "the header needs snapshots and a recordCount (an integer, 0 or more)"),
    ],
)
def test_a_hostile_header_is_refused_with_its_reason(
    tmp_path: Path, header: dict[str, Any], message: str
) -> None:
    lines = published()
    lines[0] = json.dumps({**json.loads(lines[0]), **header}).encode()
    with pytest.raises(FormatError) as raised:
        verify_stream(lines, policy=Policy(offline=True))
    assert (raised.value.code, raised.value.message) == ("collection.malformed", message)


def test_a_header_with_a_duplicate_key_is_refused() -> None:
    lines = published()
    lines[0] = lines[0][:-1] + b', "recordCount": 1}'
    with pytest.raises(FormatError) as raised:
        verify_stream(lines, policy=Policy(offline=True))
    assert raised.value.code == "collection.malformed"
    assert raised.value.message == "line 1 (the header): not valid JSON: duplicate key 'recordCount'"


@given(
    hashes=st.lists(st.binary(min_size=32, max_size=32), max_size=24),
    upper=st.sets(st.integers(0, 23)),
)
def test_a_paths_text_digest_is_its_hashes_digest(hashes: list[bytes], upper: set[int]) -> None:
    text = ["0x" + h.hex() for h in hashes]
    assert collection_lines.path_digest(text) == merkle_levels.path_digest(hashes)
    spelled = [t.upper().replace("0X", "0x") if i in upper else t for i, t in enumerate(text)]
    assert collection_lines.path_digest(spelled) == merkle_levels.path_digest(hashes)
    if hashes:  # a misplaced boundary between two hashes is not a path
        with pytest.raises(collection_lines.BadLine):
            collection_lines.path_digest([text[0] + "0", *text[1:]])


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
