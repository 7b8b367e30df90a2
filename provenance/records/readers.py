"""Streaming readers: CSV, JSON Lines and Parquet files → canonical entries, keys and leaf hashes.

A file is cut into chunks that can be processed independently (so two cores can share the
work): JSON Lines at any newline, CSV at a newline preceded by an even number of double quotes
(RFC 4180 quotes come in pairs, so such a newline is never inside a quoted field), Parquet by
row group. :func:`process_chunk` turns one chunk into entries; it is a pure function of its
inputs and runs in worker processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from provenance import upstream
from provenance.errors import InputError, ProvenanceError
from provenance.lineage import RawRef, RefProblem, parse_raw_refs, pin_refs
from provenance.merkle import leaf_hashes
from provenance.quality.columns import Column, of_csv, of_values
from provenance.quality.evaluate import ChunkQuality, evaluate_chunk, rule_columns, rule_failed
from provenance.records.canonical import (
    CanonicalError,
    canonical,
    entry_bytes,
    key_text,
    record_salt,
)
from provenance.records.chunks import Chunk, ChunkResult, Context, check_size, entry_of
from provenance.records.csv_rows import (
    BOM,
    csv_header,
    csv_records,
    flat_csv,
    flat_csv_chunk,
    plain_csv,
)
from provenance.records.jsonl import jsonl_records
from provenance.records.parquet import parquet_plan, parquet_records
from provenance.records.schema import Schema

_sha256 = hashlib.sha256
FORMATS = ("csv", "jsonl", "parquet")
CHUNK_BYTES = 1 << 20


def detect_format(path: Path) -> str:
    """Format from the file name: .csv, .jsonl/.ndjson, .parquet."""
    suffix = path.suffix.lower()
    fmt = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}.get(suffix)
    if fmt is None:
        raise InputError(
            f"cannot tell the format of {path.name!r}; pass --format",
            code="input.unknown-format",
            source=str(path),
        )
    return fmt


def open_chunks(
    path: Path, fmt: str, schema: Schema, source: str | None = None
) -> tuple[tuple[str, ...], Iterator[Chunk]]:
    """The header (CSV) and the chunks of a file; errors name it ``source`` (an upload's name,
    never the server's path for it) or, by default, its path.

    Raises:
        InputError: the file cannot be opened, the header is bad or a key column is missing.
    """
    source = source or str(path)
    try:
        if fmt == "parquet":
            return parquet_plan(path, schema, source)
        stream = path.open("rb")
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror}", code="input.unreadable", source=source) from None
    if fmt == "csv":
        header, rest, line = csv_header(stream, source, schema)
        return header, _split(stream, rest, line, quoted=True)
    if fmt == "jsonl":
        first = stream.read(len(BOM))
        return (), _split(stream, first.removeprefix(BOM), 1, quoted=False)
    raise InputError(
        f"unknown format {fmt!r} (one of {', '.join(FORMATS)})", code="input.unknown-format", source=source
    )


def _split(stream: BinaryIO, pending: bytes, line: int, *, quoted: bool) -> Iterator[Chunk]:
    with stream:
        eof = False
        while not eof or pending:
            if not eof and len(pending) < CHUNK_BYTES:
                block = stream.read(CHUNK_BYTES)
                eof = not block
                pending += block
                continue
            cut = len(pending) if eof else _safe_cut(pending, quoted)
            if cut < 0:  # no safe newline yet (a very long quoted field): read more
                block = stream.read(CHUNK_BYTES)
                eof = not block
                pending += block
                if eof:
                    cut = len(pending)
                else:
                    continue
            data, pending = pending[:cut], pending[cut:]
            yield Chunk(first_line=line, data=data)
            line += data.count(b"\n")


def _safe_cut(buf: bytes, quoted: bool) -> int:
    """Offset just after the last newline that is not inside a quoted field, or -1."""
    end = buf.rfind(b"\n")
    while end >= 0:
        if not quoted or buf.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end = buf.rfind(b"\n", 0, end)
    return -1


# --- one chunk → entries ----------------------------------------------------------------------


def process_chunk(chunk: Chunk, ctx: Context) -> ChunkResult:
    """Canonical entries, keys and leaf hashes of one chunk's records, in input order, and what
    the schema's quality rules found in them.

    Raises:
        InputError: naming the file, line (or row) and column of the first bad record, or of
            the first record an ``error`` rule refuses.
    """
    entries: list[bytes] = []
    keys: list[bytes] = []
    lines: list[int] = []
    rules = ctx.schema.rules if ctx.evaluate_rules else ()
    values: dict[str, list[Any]] = {c: [] for c in rule_columns(rules)}
    columns: dict[str, Column] | None = None
    if ctx.schema.derived_from is not None:
        _derived_chunk(chunk, ctx, entries, keys, lines, values)
    elif ctx.fmt == "csv" and flat_csv(ctx):
        plain = plain_csv(ctx)
        flat_csv_chunk(chunk, ctx, entries, keys, lines, None if plain else values)
        if values and plain:  # the rules' columns, read by Arrow as the strings they are
            columns = of_csv(chunk.data, ctx.header, list(values), len(entries))
    else:
        for line, record, rec_bytes in _records(chunk, ctx):
            key, rec_bytes = _key_and_bytes(record, rec_bytes, ctx, line)
            entries.append(entry_of(rec_bytes, key, ctx, line))
            keys.append(key)
            lines.append(line)
            for col, column in values.items():
                column.append(record.get(col))
    quality = None
    if rules:
        if columns is None:
            columns = {col: of_values(v) for col, v in values.items()}
        quality = evaluate_chunk(rules, columns, lines, ctx.source)
    return _result(entries, keys, lines, ctx, quality)


def _result(
    entries: list[bytes], keys: list[bytes], lines: list[int], ctx: Context, quality: ChunkQuality | None
) -> ChunkResult:
    return ChunkResult(
        count=len(entries),
        entries=b"".join(e + b"\n" for e in entries) if ctx.keep_entries else b"",
        keys=b"".join(k + b"\n" for k in keys),
        hashes=leaf_hashes(entries),
        lines=tuple(lines) if ctx.track_lines else (),
        key_hashes=b"".join([_sha256(k).digest()[:8] for k in keys]),
        quality=quality,
    )


def _records(chunk: Chunk, ctx: Context) -> Iterator[tuple[int, dict[str, Any], bytes | None]]:
    if ctx.fmt == "csv":
        return csv_records(chunk, ctx)
    if ctx.fmt == "jsonl":
        return jsonl_records(chunk, ctx)
    return ((line, rec, None) for line, rec in parquet_records(chunk, ctx))


def _derived_chunk(
    chunk: Chunk,
    ctx: Context,
    entries: list[bytes],
    keys: list[bytes],
    lines: list[int],
    columns: dict[str, list[Any]],
) -> None:
    """A derived dataset's chunk: each record's refs pinned to the upstream leaves (in this
    process, so the ingest's parent does no per-record work), then its entry."""
    field = ctx.schema.derived_from
    assert field is not None
    parents = upstream.resolve(ctx.upstream)
    referential = next((r for r in ctx.schema.rules if r.kind == "referential"), None)
    for line, record, rec_bytes in _records(chunk, ctx):
        raw = record.pop(field, None)
        key, rec_bytes = _key_and_bytes(
            record, None if rec_bytes is None and raw is not None else rec_bytes, ctx, line
        )
        check_size(rec_bytes, ctx, line)
        refs = _parse_refs(raw, ctx, line, field)
        try:
            derived = pin_refs(refs, parents) if refs else None
        except RefProblem as e:
            if referential is not None and e.code in ("lineage.unknown-key", "lineage.not-a-parent"):
                raise rule_failed(referential, e.reason, ctx.source, line) from None
            raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=field) from None
        salt = record_salt(ctx.salt_secret, key) if ctx.salt_secret is not None else None
        entries.append(entry_bytes(rec_bytes, salt, derived_bytes=derived))
        keys.append(key)
        lines.append(line)
        for col, column in columns.items():
            column.append(record.get(col))


def _parse_refs(raw: Any, ctx: Context, line: int, field: str) -> tuple[RawRef, ...] | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_raw_refs(raw, ctx.max_refs)
    except RefProblem as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=field) from None
    except ProvenanceError as e:  # JSON text of a CSV cell that does not parse
        raise InputError(
            f"refs are not JSON: {e.message}",
            code="lineage.bad-ref",
            source=ctx.source,
            line=line,
            column=field,
        ) from None


def _key_and_bytes(
    record: dict[str, Any], rec_bytes: bytes | None, ctx: Context, line: int
) -> tuple[bytes, bytes]:
    try:
        values = [_key_value(record, col) for col in ctx.schema.key]
        # The record before its key: a key value without a canonical form is then named by its
        # column, not by its place in the key ("column [0]").
        rec = rec_bytes if rec_bytes is not None else canonical(record)
        return key_text(values), rec
    except CanonicalError as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=e.path or None) from None
    except _KeyProblem as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=e.column) from None
    except RecursionError:
        raise InputError(
            "record nested too deeply", code="input.too-deep", source=ctx.source, line=line
        ) from None


class _KeyProblem(Exception):
    def __init__(self, reason: str, code: str, column: str) -> None:
        self.reason, self.code, self.column = reason, code, column


def _key_value(record: dict[str, Any], col: str) -> Any:
    if col not in record:
        raise _KeyProblem(f"key column {col!r} is missing", "input.missing-key-column", col)
    value = record[col]
    if value is None or value == "":
        raise _KeyProblem(f"key column {col!r} is empty", "input.empty-key", col)
    if isinstance(value, dict | list):
        raise _KeyProblem(f"key column {col!r} holds an object or array", "input.bad-key", col)
    return value
