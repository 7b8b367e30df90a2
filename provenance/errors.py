"""The one exception hierarchy of the project.

Every error carries a stable, machine-readable ``code``; the HTTP edge maps codes to statuses
in one place and the CLI maps them to exit codes. Messages are built from typed fields in the
constructor so they never depend on how a caller happened to phrase them.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

MAX_MESSAGE = 1000  # characters of a message; what it quotes of hostile input is cut to fit


def quote_capped(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text``, or its start and end around a note of how much was cut."""
    if len(text) <= limit:
        return text
    keep = (limit - 40) // 2
    return f"{text[:keep]} … ({len(text) - 2 * keep} characters cut) … {text[-keep:]}"


class ProvenanceError(Exception):
    """Root of every error this project raises on purpose."""

    code = "provenance.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        # An error quoted hostile input back whole (a 10,000-hash path made a 700 KB answer).
        message = quote_capped(message)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        """Machine-readable form (used by the API problem details and ``--json`` output)."""
        return {"code": self.code, "message": self.message}


class FormatError(ProvenanceError):
    """A document we were handed (bundle, manifest, checkpoint, proof) cannot be parsed."""

    code = "format.invalid"


class InputError(ProvenanceError):
    """A data file cannot be turned into a snapshot; names where, as precisely as known."""

    code = "input.invalid"

    def __init__(
        self,
        reason: str,
        *,
        code: str = "input.invalid",
        source: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.column = column
        where = [part for part in (source, _at("line", line), _at("column", column)) if part]
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason, code=code)

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        out.update({"source": self.source, "line": self.line, "column": self.column})
        return out

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in ingest worker processes and re-raised in the parent: keep every field.
        fields = {"code": self.code, "source": self.source, "line": self.line, "column": self.column}
        return (_rebuild_input_error, (type(self), self.reason, fields))


def _rebuild_input_error(cls: type[InputError], reason: str, fields: dict[str, object]) -> InputError:
    return cls(reason, **fields)  # type: ignore[arg-type]


def _at(label: str, value: object) -> str | None:
    return None if value is None else f"{label} {value}"


class LimitExceeded(InputError):
    """An input is larger than a configured limit (bytes, records, record size)."""


class ConfigError(ProvenanceError):
    """The settings cannot work together (e.g. several API processes on an in-process chain)."""

    code = "config.invalid"


class AuthError(ProvenanceError):
    """A request lacks the credentials an operation needs."""

    code = "auth.required"


class AuthRequired(AuthError):
    """No credentials were given."""

    code = "auth.required"


class AuthForbidden(AuthError):
    """Credentials were given but do not allow the operation."""

    code = "auth.forbidden"


class ServiceUnavailable(ProvenanceError):
    """A ledger's HTTP API (asked by the CLI) does not answer."""

    code = "api.unreachable"


class KeyStoreError(ProvenanceError):
    """A keystore cannot be read, decrypted or written."""

    code = "keystore.error"


class VerificationError(ProvenanceError):
    """Something we were asked to trust does not check out."""

    code = "verification.failed"


class ProofError(VerificationError):
    """A Merkle proof is malformed or does not lead to the claimed root."""

    code = "proof.invalid"


class RootMismatchError(ProofError):
    """A proof was well formed but computes a different root than expected."""

    code = "proof.root-mismatch"

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        self.expected = expected
        self.calculated = calculated
        super().__init__(f"calculated root {calculated.hex()} does not match expected root {expected.hex()}")


class SignatureError(VerificationError):
    """A signature is malformed, non-canonical or by the wrong key."""

    code = "signature.invalid"


class AnchorMismatchError(VerificationError):
    """What the chain records differs from what a bundle claims."""

    code = "anchor.mismatch"


class NotFoundError(ProvenanceError):
    """A dataset, snapshot, record or anchor does not exist."""

    code = "not-found"


class ConflictError(ProvenanceError):
    """The request contradicts state already committed (e.g. other content for a version)."""

    code = "conflict"


class StorageError(ProvenanceError):
    """The database refused or failed an operation."""

    code = "storage.error"


class StorageFull(StorageError):
    """The server's disk (or the database's) has no room left: nothing of the request was stored."""

    code = "storage.full"


#: errno values that mean "no room left" (a full disk, a quota, a file-size limit).
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@contextmanager
def disk_space(what: str) -> Iterator[None]:
    """Turn a write that found no room into :class:`StorageFull`, naming ``what`` and never the
    path (an OSError's text would show the server's file system)."""
    try:
        yield
    except OSError as e:
        if e.errno in NO_SPACE:
            raise StorageFull(
                f"the server's disk is full: {what} was not stored; retry once space is freed"
            ) from None
        raise


class ChainError(ProvenanceError):
    """The chain refused a transaction or a read failed."""

    code = "chain.error"


class RpcUnavailable(ChainError):
    """The JSON-RPC endpoint cannot be reached; the work is retried later."""

    code = "chain.rpc-unavailable"


class ReorgDetected(ChainError):
    """A block holding one of our anchors is no longer on the canonical chain."""

    code = "chain.reorg"
