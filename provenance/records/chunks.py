"""The unit of parallel work of a reader: a chunk of a file, the context every chunk shares, and
what processing one chunk yields (entries, keys and leaf hashes in leaf order)."""

from __future__ import annotations

from dataclasses import dataclass

from provenance.errors import InputError
from provenance.quality.evaluate import ChunkQuality
from provenance.records.canonical import entry_bytes, record_salt
from provenance.records.schema import Schema
from provenance.upstream import Tokens


@dataclass(frozen=True)
class Context:
    """What every chunk of one file needs to know."""

    source: str
    fmt: str
    schema: Schema
    header: tuple[str, ...] = ()
    salt_secret: bytes | None = None
    max_record_bytes: int = 1 << 20
    track_lines: bool = False  # return each record's line (only the duplicate-key report needs it)
    max_refs: int = 64  # upstream refs per record (derived datasets)
    keep_entries: bool = True  # False: hand back keys and hashes only (a check needs no entries)
    upstream: Tokens = ()  # a derived dataset's parents' indexes (provenance.upstream.resolve)
    evaluate_rules: bool = True  # False when a file is read again only to find keys and lines


@dataclass(frozen=True)
class Chunk:
    first_line: int  # 1-based line (CSV/JSONL) or row (Parquet) of the chunk's first record
    data: bytes = b""
    row_group: int = -1


@dataclass(frozen=True)
class ChunkResult:
    count: int
    entries: bytes  # canonical leaf inputs, each followed by b"\n"
    keys: bytes  # key texts, each followed by b"\n"
    hashes: bytes  # concatenated leaf hashes
    lines: tuple[int, ...]  # line (or row) of each record, for error messages
    key_hashes: bytes = b""  # first 8 bytes of SHA-256 of each key text (the store's key index)
    quality: ChunkQuality | None = None  # the schema's rules over this chunk


def decode_text(data: bytes, source: str, first_line: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = first_line + data.count(b"\n", 0, e.start)
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            f"invalid UTF-8 at byte {col} of the line", code="input.invalid-utf8", source=source, line=line
        ) from None


def check_size(rec_bytes: bytes, ctx: Context, line: int) -> None:
    if len(rec_bytes) > ctx.max_record_bytes:
        raise InputError(
            f"record is {len(rec_bytes)} bytes, over the limit of {ctx.max_record_bytes}",
            code="input.record-too-large",
            source=ctx.source,
            line=line,
        )


def entry_of(rec_bytes: bytes, key: bytes, ctx: Context, line: int) -> bytes:
    check_size(rec_bytes, ctx, line)
    if ctx.salt_secret is None:
        return b'{"record":' + rec_bytes + b"}"
    return entry_bytes(rec_bytes, record_salt(ctx.salt_secret, key))
