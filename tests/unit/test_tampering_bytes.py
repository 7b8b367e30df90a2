"""#11 suite item 2: tampering at the byte level, the way a file is damaged or forged — any single
bit of a serialized bundle, collection or checkpoint flipped, or the file cut short anywhere. Each
must be refused: a ``FormatError`` with a stable code, or a verdict that is not valid, naming a
failing check with its reason code. A flip that leaves the meaning unchanged (the case of a hex
digit, which every reader of these formats accepts either way) may still verify; the test then
requires the document to mean exactly the original. 10,500 cases a run in CI."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import strict_json
from provenance.checkpoint import LogVerifier
from provenance.errors import FormatError, ProvenanceError
from provenance.proofs import bundle, collection
from provenance.proofs.collection_verify import verify_collection
from provenance.proofs.verify import Policy, verify_bundle
from tests import factories as f

OFFLINE = Policy(offline=True)
FORMAT_CODES = re.compile(r"^(bundle|collection|manifest|proof|schema|checkpoint|input|lineage)\.[a-z-]+$")
HEX = re.compile(r"^0x[0-9a-fA-F]*$")
# A C2SP verifier key, name+keyhash+key: the key hash is hex, which the Go reference parser
# (golang.org/x/mod/sumdb/note) and ours read in either case.
VKEY = re.compile(r"^([^+\s]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/=]+)$")


def meaning(doc: Any) -> Any:
    """The document as every verifier reads it: hex in one case (0x-strings, verifier key hashes)."""
    if isinstance(doc, dict):
        return {k: meaning(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [meaning(v) for v in doc]
    if isinstance(doc, str) and HEX.match(doc):
        return doc.lower()
    if isinstance(doc, str) and (key := VKEY.match(doc)):
        return f"{key[1]}+{key[2].lower()}+{key[3]}"
    return doc


def flip(data: bytes, bit: int) -> bytes:
    i, b = divmod(bit % (len(data) * 8), 8)
    return data[:i] + bytes([data[i] ^ (1 << b)]) + data[i + 1 :]


@pytest.fixture(scope="module")
def bundle_bytes() -> bytes:
    snap = f.snapshot(salted=True)
    return json.dumps(f.proof_bundle(snap, 3)).encode()


@pytest.fixture(scope="module")
def collection_bytes() -> bytes:
    return json.dumps(f.lineage_collection()).encode()


def refused(code: str) -> str:
    assert FORMAT_CODES.match(code), code  # a stable, catalogued code
    return f"refused {code}"


def bundle_outcome(data: bytes) -> str:
    """"refused <code>", "invalid <reasons>" or "valid"."""
    try:
        doc = bundle.parse(data)
    except FormatError as e:
        return refused(e.code)
    v = verify_bundle(doc, policy=OFFLINE)
    if v.status == "valid":
        return "valid"
    reasons = [c.reason for c in v.checks if c.status.value == "invalid"]
    assert reasons and all(r for r in reasons), v.to_json()  # a failing check always says why
    return "invalid " + ",".join(reasons)


def test_the_untouched_documents_verify(bundle_bytes: bytes, collection_bytes: bytes) -> None:
    assert bundle_outcome(bundle_bytes) == "valid"
    assert collection_outcome(collection_bytes) == "valid"


@settings(max_examples=6000, deadline=None)
@given(bit=st.integers(min_value=0))
def test_any_flipped_bit_of_a_bundle_is_refused(bundle_bytes: bytes, bit: int) -> None:
    tampered = flip(bundle_bytes, bit)
    outcome = bundle_outcome(tampered)
    if outcome == "valid":  # only a flip that means nothing new, e.g. 'a' -> 'A' in hex
        assert meaning(json.loads(tampered)) == meaning(json.loads(bundle_bytes))


@settings(max_examples=1500, deadline=None)
@given(cut=st.integers(min_value=0))
def test_a_bundle_cut_short_anywhere_is_refused(bundle_bytes: bytes, cut: int) -> None:
    outcome = bundle_outcome(bundle_bytes[: cut % len(bundle_bytes)])
    assert outcome.startswith("refused bundle."), outcome


def collection_outcome(data: bytes) -> str:
    try:
        doc = collection.from_json(strict_json.loads(data))
    except FormatError as e:
        return refused(e.code)
    v = verify_collection(doc, policy=OFFLINE)
    if v.status == "valid":
        return "valid"
    named = bool(v.failures) and all(x.reason for x in v.failures)
    assert named or any(s.status == "invalid" for _, s in v.snapshots), v.to_json()
    return "invalid"


@settings(max_examples=2000, deadline=None)
@given(bit=st.integers(min_value=0), cut=st.booleans())
def test_any_flipped_bit_or_cut_of_a_lineage_collection_is_refused(
    collection_bytes: bytes, bit: int, cut: bool
) -> None:
    tampered = collection_bytes[: bit % len(collection_bytes)] if cut else flip(collection_bytes, bit)
    outcome = collection_outcome(tampered)
    if outcome == "valid":
        assert meaning(json.loads(tampered)) == meaning(json.loads(collection_bytes))


@settings(max_examples=1000, deadline=None)
@given(bit=st.integers(min_value=0), cut=st.booleans())
def test_any_flipped_bit_or_cut_of_a_checkpoint_note_is_refused(
    bundle_bytes: bytes, bit: int, cut: bool
) -> None:
    log = json.loads(bundle_bytes)["log"]
    note = log["checkpoint"].encode()
    tampered = note[: bit % len(note)] if cut else flip(note, bit)
    verifier = LogVerifier.parse(log["logKey"])
    code = None
    try:
        verifier.verify(tampered.decode())
    except UnicodeDecodeError:
        return  # not text: no note at all
    except ProvenanceError as e:
        code = e.code
    assert code is not None, f"a tampered note verified: {tampered!r}"
    assert code.startswith("checkpoint."), code
