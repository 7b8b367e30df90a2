"""Proof bundles: parse, verify, and refuse every kind of tampering with the failing check named."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.errors import FormatError
from provenance.proofs import bundle
from provenance.proofs.verdict import Status, Verdict
from provenance.proofs.verify import Policy, verify_bundle
from tests import factories as f

OFFLINE = Policy(offline=True)


def verdict(doc: dict[str, Any], policy: Policy = OFFLINE) -> Verdict:
    return verify_bundle(bundle.parse(json.dumps(doc)), policy=policy)


@pytest.fixture(scope="module")
def snap() -> f.Snapshot:
    return f.snapshot()


@pytest.fixture(scope="module")
def salted() -> f.Snapshot:
    return f.snapshot(salted=True)


def test_valid_bundle_offline(snap: f.Snapshot) -> None:
    v = verdict(f.proof_bundle(snap))
    assert v.status == "valid", v.to_json()
    states = {c.name: c.status for c in v.checks}
    assert states["leaf"] is states["inclusion"] is states["signature"] is Status.VALID
    assert states["log-inclusion"] is states["checkpoint-signature"] is Status.VALID
    assert states["anchor"] is Status.ABSENT
    assert states["lineage"] is Status.NOT_APPLICABLE


def test_unanchored_bundle_is_never_valid_online(snap: f.Snapshot) -> None:
    v = verdict(f.proof_bundle(snap), Policy())
    assert v.status == "incomplete"
    assert v.check("anchor").status is Status.ABSENT
    assert v.check("anchor").reason == "anchor.absent"


def test_bundle_without_log(snap: f.Snapshot) -> None:
    v = verdict(f.proof_bundle(snap, with_log=False))
    assert v.status == "valid"
    assert v.check("log-inclusion").status is Status.ABSENT


def test_every_record_of_a_snapshot_verifies(snap: f.Snapshot, salted: f.Snapshot) -> None:
    for s in (snap, salted):
        for i in range(s.tree.size):
            assert verdict(f.proof_bundle(s, i)).status == "valid"


def test_pinned_log_key(snap: f.Snapshot) -> None:
    doc = f.proof_bundle(snap)
    pinned = verdict(doc, Policy(offline=True, log_keys=(f.log_signer().verifier_key(),)))
    assert "pinned" in pinned.check("checkpoint-signature").detail
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from provenance.checkpoint import LogSigner

    stranger = LogSigner(f.ORIGIN, Ed25519PrivateKey.generate()).verifier_key()
    v = verdict(doc, Policy(offline=True, log_keys=(stranger,)))
    assert v.check("checkpoint-signature").status is Status.INVALID
    assert v.check("log-inclusion").reason == "log-inclusion.no-checkpoint"


# --- tampering ---------------------------------------------------------------------------------------


def flip_hex(text: str, bit: int) -> str:
    raw = bytearray(bytes.fromhex(text.removeprefix("0x")))
    raw[(bit // 8) % len(raw)] ^= 1 << (bit % 8)
    return ("0x" if text.startswith("0x") else "") + raw.hex()


def flip_value(value: Any, bit: int) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value ^ (1 << (bit % 40))
    if isinstance(value, float):
        return value + 2.0 ** (bit % 20 - 10)
    chars = list(value)
    i = (bit // 7) % len(chars)
    chars[i] = chr(ord(chars[i]) ^ (1 << (bit % 7)))  # stays ASCII for ASCII input
    return "".join(chars)


def tamper(doc: dict[str, Any], target: str, bit: int) -> dict[str, Any]:
    d = copy.deepcopy(doc)
    rec, man = d["record"], d["manifest"]
    if target == "record":
        fields = sorted(rec["entry"]["record"])
        name = fields[bit % len(fields)]
        rec["entry"]["record"][name] = flip_value(rec["entry"]["record"][name], bit)
        if name in ("symbol",):  # the key moves with the record, or the key check alone would catch it
            rec["key"] = [rec["entry"]["record"]["symbol"]]
    elif target == "salt":
        rec["entry"]["salt"] = flip_hex(rec["entry"]["salt"], bit)
    elif target == "proof":
        path = rec["inclusionPath"]
        i = bit % len(path)
        path[i] = flip_hex(path[i], bit)
    elif target == "root":
        man["manifest"]["root"] = flip_hex(man["manifest"]["root"], bit)
    elif target == "manifest":
        name = ["version", "size", "createdAt", "schemaHash", "datasetId", "transformHash", "dataset"][
            bit % 7
        ]
        value = man["manifest"][name]
        if name == "dataset":
            man["manifest"]["dataset"] = "tm/ratings/weekly"
        elif isinstance(value, str):
            man["manifest"][name] = flip_hex(value, bit)
        else:
            flipped = value ^ (1 << (bit % 30))
            man["manifest"][name] = flipped or value + 1  # versions start at 1: keep it parseable
        man.pop("digest")
    elif target == "signature":
        man["signature"] = flip_hex(man["signature"], bit)
    elif target == "log":
        path = d["log"]["inclusionPath"]
        path[bit % len(path)] = flip_hex(path[bit % len(path)], bit)
    elif target == "checkpoint":
        note = d["log"]["checkpoint"]
        lines = note.split("\n")
        lines[1] = str(int(lines[1]) + 1 + bit % 5)
        d["log"]["checkpoint"] = "\n".join(lines)
    return d


EXPECTED_FAILURE = {
    "record": {"leaf", "inclusion"},
    "salt": {"inclusion"},
    "proof": {"inclusion"},
    "root": {"inclusion"},
    "manifest": {"signature", "inclusion", "leaf"},
    "signature": {"signature"},
    "log": {"log-inclusion"},
    "checkpoint": {"checkpoint-signature"},
}


@settings(max_examples=2500, deadline=None)
@given(target=st.sampled_from(sorted(EXPECTED_FAILURE)), bit=st.integers(0, 4095), index=st.integers(0, 6))
def test_any_single_tampering_is_detected_and_named(
    salted: f.Snapshot, target: str, bit: int, index: int
) -> None:
    doc = tamper(f.proof_bundle(salted, index), target, bit)
    v = verdict(doc)
    assert v.status == "invalid", (target, v.to_json())
    failed = {c.name for c in v.checks if c.status is Status.INVALID}
    assert failed & EXPECTED_FAILURE[target], (target, failed)
    for c in v.checks:
        if c.status is Status.INVALID:
            assert c.reason.startswith(c.name.split("-")[0]) or c.reason.startswith(
                ("proof.", "signature.", "checkpoint.")
            ), c


def test_reason_codes_are_stable(salted: f.Snapshot) -> None:
    doc = f.proof_bundle(salted, 0)
    cases = {
        "proof": ("inclusion", "proof.root-mismatch"),
        "signature": ("signature", None),
        "checkpoint": ("checkpoint-signature", "checkpoint.bad-signature"),
    }
    for target, (check, reason) in cases.items():
        v = verdict(tamper(doc, target, 3))
        assert v.check(check).status is Status.INVALID
        if reason:
            assert v.check(check).reason == reason
    short = copy.deepcopy(doc)
    short["record"]["inclusionPath"].pop()
    assert verdict(short).check("inclusion").reason == "proof.wrong-length"
    wrong_key = copy.deepcopy(doc)
    wrong_key["record"]["key"] = ["ETH"]
    assert verdict(wrong_key).check("leaf").reason == "leaf.key-mismatch"
    no_salt = copy.deepcopy(doc)
    del no_salt["record"]["entry"]["salt"]
    assert verdict(no_salt).check("leaf").reason == "leaf.salt-mismatch"
    high_s = copy.deepcopy(doc)
    from provenance.manifest import SECP256K1_N

    sig = bytes.fromhex(high_s["manifest"]["signature"][2:])
    s = int.from_bytes(sig[32:64], "big")
    high_s["manifest"]["signature"] = (
        "0x" + (sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])).hex()
    )
    assert verdict(high_s).check("signature").reason == "signature.high-s"
    odd = copy.deepcopy(doc)
    odd["manifest"]["signature"] = "0x123"
    assert verdict(odd).check("signature").reason == "signature.malformed"


# --- malformed, truncated and hostile documents are unusable input -----------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "bundle.malformed"),
        ("{", "bundle.malformed"),
        ("[]", "bundle.unsupported"),
        ('{"format": "provenance-proof/v2"}', "bundle.unsupported"),
        ('{"format": "provenance-proof/v1", "format": "provenance-proof/v1"}', "bundle.malformed"),
        ('{"format": "provenance-proof/v1", "x": NaN}', "bundle.malformed"),
        ('{"format": "provenance-proof/v1"}', "bundle.malformed"),
        ("[" * 50000 + "]" * 50000, "bundle.malformed"),
        (b"\xff\xfe", "bundle.malformed"),
    ],
)
def test_unusable_documents(text: str | bytes, code: str) -> None:
    with pytest.raises(FormatError) as err:
        bundle.parse(text)
    assert err.value.code == code


def test_truncated_and_schema_violations(snap: f.Snapshot) -> None:
    text = json.dumps(f.proof_bundle(snap))
    for cut in (10, len(text) // 2, len(text) - 2):
        with pytest.raises(FormatError):
            bundle.parse(text[:cut])
    doc = f.proof_bundle(snap)
    mutations = [
        ("record", "leafIndex", -1),
        ("record", "inclusionPath", ["0x12"]),
        ("record", "extra", 1),
        ("record", "dataset", "BAD NAME"),
        ("manifest", "signer", "0x12"),
        ("record", "key", []),
    ]
    for section, field, value in mutations:
        bad = copy.deepcopy(doc)
        bad[section][field] = value
        with pytest.raises(FormatError) as err:
            bundle.parse(json.dumps(bad))
        assert err.value.code == "bundle.malformed"
        assert section in err.value.message
    huge = "x" * (bundle.MAX_BUNDLE_BYTES + 1)
    with pytest.raises(FormatError) as err:
        bundle.parse(huge)
    assert err.value.code == "bundle.too-large"


def test_deeply_nested_record_fails_closed(snap: f.Snapshot) -> None:
    doc = f.proof_bundle(snap)
    deep: Any = 1
    for _ in range(1000):  # within orjson's limit, beyond canonical.MAX_DEPTH
        deep = [deep]
    doc["record"]["entry"]["record"]["price"] = deep
    v = verdict(doc)
    assert v.status == "invalid"
    assert v.check("leaf").reason == "leaf.not-canonical"
    deeper = '{"format": "provenance-proof/v1", "x": ' + "[" * 200_000 + "]" * 200_000 + "}"
    with pytest.raises(FormatError) as err:
        bundle.parse(deeper)
    assert err.value.code == "bundle.malformed"


def test_upstream_nesting_is_bounded(snap: f.Snapshot) -> None:
    doc = f.proof_bundle(snap)
    nested = doc
    for _ in range(bundle.MAX_UPSTREAM_DEPTH + 2):
        nested = {**copy.deepcopy(doc), "upstream": [nested]}
    with pytest.raises(FormatError, match="nest deeper"):
        bundle.parse(json.dumps(nested))


def test_schema_file_is_valid_json_schema() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(bundle.schema())
