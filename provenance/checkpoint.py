"""Ledger-log checkpoints as C2SP ``tlog-checkpoint`` signed notes with an Ed25519 log key.

Note text (C2SP signed-note)::

    <origin>\\n<size>\\n<base64 root>\\n[<extension line>\\n ...]\\n
    — <key name> <base64(key id || signature)>\\n ...

The signed message is everything up to and including the newline before the blank line.
The key id is the first 4 bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``, and the
verifier key text is ``<name>+<hex key id>+<base64(0x01 || public key)>``, so checkpoints we
publish verify with any C2SP tool (e.g. ``golang.org/x/mod/sumdb/note``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from provenance.errors import FormatError, SignatureError

ED25519 = 0x01
MAX_NOTE_BYTES = 1 << 16
MAX_SIGNATURES = 100
_EM_DASH = "\u2014 "
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def _bad(reason: str) -> FormatError:
    return FormatError(f"malformed checkpoint: {reason}", code="checkpoint.malformed")


def _check_key_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name or not name.isprintable():
        raise _bad(f"key name {name!r} must be non-empty, printable, without spaces or '+'")


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key id of an Ed25519 key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    """A log state: origin, tree size and root hash (plus optional extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or not self.origin.isprintable():
            raise _bad("origin must be one non-empty printable line")
        if not 0 <= self.size < 2**64:
            raise _bad("size must be a 64-bit unsigned integer")
        if len(self.root) != 32:
            raise _bad("root must be 32 bytes")
        for ext in self.extensions:
            if not ext or "\n" in ext or not ext.isprintable():
                raise _bad("extension lines must be non-empty printable lines")

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_EM_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signatures: tuple[NoteSignature, ...]

    def text(self) -> str:
        return self.checkpoint.body().decode() + "\n" + "".join(s.line() for s in self.signatures)


class LogSigner:
    """Signs checkpoints with an Ed25519 log key under a C2SP key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_key_name(name)
        self.name = name
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, self.public_key)

    def verifier_key(self) -> str:
        return (
            f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public_key).decode()}"
        )

    def sign(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        return SignedCheckpoint(checkpoint, (self._signature(checkpoint.body()),))

    def sign_note(self, text: str) -> str:
        """A C2SP signed note of arbitrary ``text`` (which must end with a newline)."""
        if not text.endswith("\n") or "\n\n" in text:
            raise _bad("note text must end with one newline and contain no blank line")
        return text + "\n" + self._signature(text.encode()).line()

    def _signature(self, body: bytes) -> NoteSignature:
        return NoteSignature(self.name, self.key_id, self._key.sign(body))


@dataclass(frozen=True)
class LogVerifier:
    """A C2SP verifier key: checks notes signed by one Ed25519 log key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> LogVerifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || key)>``; refuses inconsistent keys."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise FormatError("verifier key must be <name>+<hex id>+<base64 key>", code="checkpoint.bad-key")
        name, hex_id, b64 = parts
        _check_key_name(name)
        try:
            kid = bytes.fromhex(hex_id)
            raw = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error):
            raise FormatError(
                "verifier key id or key is not valid hex/base64", code="checkpoint.bad-key"
            ) from None
        if len(kid) != 4 or len(raw) != 33 or raw[0] != ED25519 or base64.b64encode(raw).decode() != b64:
            raise FormatError(
                "verifier key must be a 4-byte id and an Ed25519 key", code="checkpoint.bad-key"
            )
        if key_id(name, raw[1:]) != kid:
            raise FormatError("verifier key id does not match its name and key", code="checkpoint.bad-key")
        return cls(name, kid, raw[1:])

    def text(self) -> str:
        return (
            f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public_key).decode()}"
        )

    def verify(self, note: str) -> Checkpoint:
        """The checkpoint in ``note``, which must carry a valid signature by this key.

        Raises:
            FormatError: the note or its checkpoint is malformed.
            SignatureError: no signature by this key, or it does not verify.
        """
        return parse_checkpoint(self.open(note))

    def open(self, note: str) -> str:
        """The signed text of ``note`` (C2SP signed-note), after checking this key's signature."""
        body, signatures = parse_note(note)
        mine = [s for s in signatures if s.name == self.name and s.key_id == self.key_id]
        if not mine:
            raise SignatureError(
                f"checkpoint has no signature by log key {self.name}", code="checkpoint.unsigned"
            )
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(mine[0].signature, body.encode())
        except InvalidSignature:
            raise SignatureError(
                "checkpoint signature does not verify", code="checkpoint.bad-signature"
            ) from None
        return body


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a C2SP signed note into its signed text and its signature lines.

    Raises:
        FormatError: with a reason for the first rule the note breaks.
    """
    if not isinstance(note, str):
        raise _bad("note must be text")
    try:
        raw = note.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("note is not valid UTF-8 (lone surrogate)") from None
    if len(raw) > MAX_NOTE_BYTES:
        raise _bad(f"note is longer than {MAX_NOTE_BYTES} bytes")
    if any(c < 0x20 and c != 0x0A for c in raw):
        raise _bad("note contains control characters")
    if not note.endswith("\n"):
        raise _bad("note must end with a newline")
    split = note.find("\n\n")
    if split < 0:
        raise _bad("no blank line between the text and its signatures")
    return note[: split + 1], _parse_signatures(note[split + 2 :])


def parse_checkpoint(body: str) -> Checkpoint:
    """The checkpoint in a note's signed text (C2SP tlog-checkpoint).

    Raises:
        FormatError: the text is not a checkpoint.
    """
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise _bad("a checkpoint needs origin, size and root lines")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text) or int(size_text) >= 2**64:
        raise _bad(f"size {size_text!r} is not a decimal 64-bit integer without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise _bad("root is not base64") from None
    if len(root) != 32 or base64.b64encode(root).decode() != root_text:
        raise _bad("root must be the canonical base64 of 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def _parse_signatures(text: str) -> list[NoteSignature]:
    lines = text.split("\n")
    if lines[-1] != "":
        raise _bad("signature lines must end with a newline")
    lines = lines[:-1]
    if not lines:
        raise _bad("no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise _bad(f"more than {MAX_SIGNATURES} signatures")
    out = []
    for line in lines:
        if not line.startswith(_EM_DASH):
            raise _bad("signature line must start with an em dash and a space")
        fields = line[len(_EM_DASH) :].split(" ")
        if len(fields) != 2:
            raise _bad("signature line must be '— <name> <base64>'")
        name, b64 = fields
        _check_key_name(name)
        try:
            blob = base64.b64decode(b64, validate=True)
        except binascii.Error:
            raise _bad("signature is not base64") from None
        if base64.b64encode(blob).decode() != b64:
            # the unused low bits of a last base64 digit are ignored by decoding: without this,
            # another spelling of the same signature verified (a note is not malleable)
            raise _bad("signature must be canonical base64")
        if len(blob) < 5:
            raise _bad("signature is shorter than a key id")
        out.append(NoteSignature(name, blob[:4], blob[4:]))
    return out
