"""C2SP signed notes and tlog checkpoints: known answers, round trips, malformed notes."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.checkpoint import Checkpoint, LogSigner, LogVerifier, parse_checkpoint, parse_note
from provenance.errors import FormatError, SignatureError
from tests.vectors import VECTORS

GO = json.loads((VECTORS / "c2sp" / "note.json").read_text())


def go_signer() -> LogSigner:
    seed = base64.b64decode(GO["signer_key"].split("+", 4)[-1])
    assert seed[0] == 0x01
    return LogSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def test_known_answer_key_id_verifier_key_and_signature() -> None:
    signer = go_signer()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.verifier_key() == GO["verifier_key"]
    assert signer.sign_note(GO["text"]) == GO["note"]
    assert LogVerifier.parse(GO["verifier_key"]).open(GO["note"]) == GO["text"]


def make_signer(name: str = "example.org/ledger") -> LogSigner:
    return LogSigner(name, Ed25519PrivateKey.generate())


@settings(max_examples=50, deadline=None)
@given(size=st.integers(0, 2**64 - 1), root=st.binary(min_size=32, max_size=32))
def test_checkpoint_round_trip(size: int, root: bytes) -> None:
    signer = make_signer()
    note = signer.sign(Checkpoint("example.org/ledger", size, root)).text()
    got = LogVerifier.parse(signer.verifier_key()).verify(note)
    assert (got.origin, got.size, got.root) == ("example.org/ledger", size, root)


def test_checkpoint_text_shape() -> None:
    signer = make_signer()
    note = signer.sign(Checkpoint("example.org/ledger", 7, b"\x01" * 32)).text()
    lines = note.split("\n")
    assert lines[:4] == ["example.org/ledger", "7", base64.b64encode(b"\x01" * 32).decode(), ""]
    assert lines[4].startswith("\u2014 example.org/ledger ")
    assert note.endswith("\n")


def good_note() -> tuple[LogSigner, str]:
    signer = make_signer()
    return signer, signer.sign(Checkpoint("example.org/ledger", 5, b"\x02" * 32)).text()


ROOT_B64 = base64.b64encode(b"\x02" * 32).decode()


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda n: n[:-1], "must end with a newline"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n.replace("\u2014 ", "- "), "em dash"),
        (lambda n: n.replace("\n5\n", "\n5\x07\n"), "control characters"),
        (lambda n: n.split("\n\n")[0] + "\n\n", "no signature lines"),
        (lambda n: n.split("\n\n")[0] + "\n\n\u2014 name AAAA\n", "shorter than a key id"),
        (lambda n: n.split("\n\n")[0] + "\n\n\u2014 name !!!!\n", "not base64"),
        (lambda n: n.split("\n\n")[0] + "\n\n\u2014 name\n", "must be"),
        (lambda n: "x" * 70000 + n, "longer than"),
        (lambda n: "\ud800" + n, "UTF-8"),
    ],
)
def test_malformed_notes_are_refused_with_a_reason(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    signer, note = good_note()
    with pytest.raises(FormatError) as err:
        LogVerifier.parse(signer.verifier_key()).verify(mutate(note))
    assert reason in err.value.message
    assert err.value.code == "checkpoint.malformed"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"origin\n05\n{ROOT_B64}\n", "not a decimal"),
        (f"origin\n-5\n{ROOT_B64}\n", "not a decimal"),
        (f"origin\n18446744073709551616\n{ROOT_B64}\n", "not a decimal"),
        ("origin\n5\nAgIC\n", "canonical base64"),
        ("origin\n5\n!!!!\n", "not base64"),
        ("origin\n5\n", "needs origin, size and root"),
    ],
)
def test_signed_but_malformed_checkpoints_are_refused(body: str, reason: str) -> None:
    """A valid signature does not make a malformed checkpoint acceptable."""
    signer = make_signer()
    with pytest.raises(FormatError) as err:
        LogVerifier.parse(signer.verifier_key()).verify(signer.sign_note(body))
    assert reason in err.value.message


def test_truncated_checkpoint_body() -> None:
    with pytest.raises(FormatError, match="needs origin, size and root"):
        parse_checkpoint("origin\n5\n")


def test_signature_by_another_key_or_tampered_is_refused() -> None:
    signer, note = good_note()
    other = make_signer()
    with pytest.raises(SignatureError) as err:
        LogVerifier.parse(other.verifier_key()).verify(note)
    assert err.value.code == "checkpoint.unsigned"  # same name, different key id
    tampered = note.replace("\n5\n", "\n6\n")
    with pytest.raises(SignatureError) as err:
        LogVerifier.parse(signer.verifier_key()).verify(tampered)
    assert err.value.code == "checkpoint.bad-signature"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_flipped_bit_of_a_signed_checkpoint_is_refused(data: st.DataObject) -> None:
    signer, note = good_note()
    raw = bytearray(note.encode())
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return  # not text any more: the transport (JSON string) could not carry it
    with pytest.raises((FormatError, SignatureError)):
        LogVerifier.parse(signer.verifier_key()).verify(text)


def test_bad_verifier_keys() -> None:
    good = make_signer().verifier_key()
    name, kid, key = good.split("+", 2)  # the base64 key may itself contain "+"
    for bad in [
        "",
        "a+b",
        f"{name}+{kid}",
        f"{name}+00000000+{key}",
        f"{name}+{kid}+AAAA",
        f"na me+{kid}+{key}",
        f"{name}+zz+{key}",
    ]:
        with pytest.raises(FormatError):
            LogVerifier.parse(bad)


def test_parse_note_keeps_multiple_signatures() -> None:
    a, b = make_signer("a.example"), make_signer("b.example")
    body = "a.example\n1\n" + base64.b64encode(b"\x00" * 32).decode() + "\n"
    note = a.sign_note(body) + b.sign_note(body).split("\n\n")[1]
    text, sigs = parse_note(note)
    assert text == body
    assert [s.name for s in sigs] == ["a.example", "b.example"]
    assert LogVerifier.parse(b.verifier_key()).open(note) == body


def test_a_signature_in_non_canonical_base64_is_refused() -> None:
    # Found by the flipped-bit property above (1 run in ~5): the last base64 digit before "="
    # has unused low bits, and decoding ignores them, so another spelling of the signature
    # verified.
    signer, note = good_note()
    head, sig_line = note.rstrip("\n").rsplit("\n", 1)
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    b64 = sig_line.rsplit(" ", 1)[1]
    stem = b64.rstrip("=")
    last = digits.index(stem[-1])
    assert b64.endswith("=")  # 68 bytes: two unused low bits in the last digit
    other = stem[:-1] + digits[last ^ 1] + b64[len(stem) :]
    forged = f"{head}\n{sig_line.rsplit(' ', 1)[0]} {other}\n"
    import base64

    assert base64.b64decode(other) == base64.b64decode(b64)
    with pytest.raises(FormatError):
        LogVerifier.parse(signer.verifier_key()).verify(forged)
