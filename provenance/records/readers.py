"""Streaming readers: CSV, JSON Lines and Parquet files → canonical entries, keys and leaf hashes.

A file is cut into chunks that can be processed independently (so two cores can share the
work): JSON Lines at any newline, CSV at a newline preceded by an even number of double quotes
(RFC 4180 quotes come in pairs, so such a newline is never inside a quoted field), Parquet by
row group. :func:`process_chunk` turns one chunk into entries; it is a pure function of its
inputs and runs in worker processes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from provenance import upstream
from provenance.errors import InputError, ProvenanceError
from provenance.lineage import RawRef, RefProblem, parse_raw_refs, pin_refs
from provenance.merkle import leaf_hashes
from provenance.records.canonical import (
    CanonicalError,
    canonical,
    entry_bytes,
    key_text,
    record_salt,
)
from provenance.records.chunks import Chunk, ChunkResult, Context, decode_text
from provenance.records.jsonl import jsonl_records
from provenance.records.parquet import parquet_plan, parquet_records
from provenance.records.schema import CellError, Schema, check_key_columns, convert_cell

_sha256 = hashlib.sha256
FORMATS = ("csv", "jsonl", "parquet")
# The csv module's own field limit (128 KiB) refused records the record limit (1 MiB by default,
# the same for every format) allows; the record limit is checked on each record instead.
csv.field_size_limit(2**31 - 1)
CHUNK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"


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
        header, rest, line = _csv_header(stream, source, schema)
        return header, _split(stream, rest, line, quoted=True)
    if fmt == "jsonl":
        first = stream.read(len(_BOM))
        return (), _split(stream, first.removeprefix(_BOM), 1, quoted=False)
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


def _csv_header(stream: BinaryIO, source: str, schema: Schema) -> tuple[tuple[str, ...], bytes, int]:
    raw = b""
    while True:
        block = stream.read(1 << 16)
        raw += block
        cut = _first_safe_newline(raw)
        if cut >= 0 or not block:
            break
    if cut < 0:
        cut = len(raw)
    head, rest = raw[:cut].removeprefix(_BOM), raw[cut:]
    text = decode_text(head, source, 1)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0]:
        raise InputError("no header row", code="input.no-header", source=source, line=1)
    header = tuple(rows[0])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(
                f"column {name!r} appears twice in the header",
                code="input.duplicate-column",
                source=source,
                line=1,
                column=name,
            )
        seen.add(name)
    check_key_columns(header, schema, source)
    return header, rest, 1 + head.count(b"\n")


def _first_safe_newline(buf: bytes) -> int:
    start = 0
    while (end := buf.find(b"\n", start)) >= 0:
        if buf.count(b'"', 0, end) % 2 == 0:
            return end + 1
        start = end + 1
    return -1


# --- one chunk → entries ----------------------------------------------------------------------


def process_chunk(chunk: Chunk, ctx: Context) -> ChunkResult:
    """Canonical entries, keys and leaf hashes of one chunk's records, in input order.

    Raises:
        InputError: naming the file, line (or row) and column of the first bad record.
    """
    entries: list[bytes] = []
    keys: list[bytes] = []
    lines: list[int] = []
    if ctx.schema.derived_from is not None:
        return _derived_chunk(chunk, ctx)
    if ctx.fmt == "csv" and _plain_csv(ctx):
        _plain_csv_chunk(chunk, ctx, entries, keys, lines)
    else:
        for line, record, rec_bytes in _records(chunk, ctx):
            key, rec_bytes = _key_and_bytes(record, rec_bytes, ctx, line)
            entries.append(_entry(rec_bytes, key, ctx, line))
            keys.append(key)
            lines.append(line)
    return _result(entries, keys, lines, ctx)


def _result(entries: list[bytes], keys: list[bytes], lines: list[int], ctx: Context) -> ChunkResult:
    return ChunkResult(
        count=len(entries),
        entries=b"".join(e + b"\n" for e in entries) if ctx.keep_entries else b"",
        keys=b"".join(k + b"\n" for k in keys),
        hashes=leaf_hashes(entries),
        lines=tuple(lines) if ctx.track_lines else (),
        key_hashes=b"".join([_sha256(k).digest()[:8] for k in keys]),
    )


def _records(chunk: Chunk, ctx: Context) -> Iterator[tuple[int, dict[str, Any], bytes | None]]:
    if ctx.fmt == "csv":
        return _csv_records(chunk, ctx)
    if ctx.fmt == "jsonl":
        return jsonl_records(chunk, ctx)
    return ((line, rec, None) for line, rec in parquet_records(chunk, ctx))


def _derived_chunk(chunk: Chunk, ctx: Context) -> ChunkResult:
    """A derived dataset's chunk: each record's refs pinned to the upstream leaves (in this
    process, so the ingest's parent does no per-record work), then its entry."""
    field = ctx.schema.derived_from
    assert field is not None
    parents = upstream.resolve(ctx.upstream)
    entries, keys, lines = [], [], []
    for line, record, rec_bytes in _records(chunk, ctx):
        raw = record.pop(field, None)
        key, rec_bytes = _key_and_bytes(
            record, None if rec_bytes is None and raw is not None else rec_bytes, ctx, line
        )
        _check_size(rec_bytes, ctx, line)
        refs = _parse_refs(raw, ctx, line, field)
        try:
            derived = pin_refs(refs, parents) if refs else None
        except RefProblem as e:
            raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=field) from None
        salt = record_salt(ctx.salt_secret, key) if ctx.salt_secret is not None else None
        entries.append(entry_bytes(rec_bytes, salt, derived_bytes=derived))
        keys.append(key)
        lines.append(line)
    return _result(entries, keys, lines, ctx)


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
        key = key_text([_key_value(record, col) for col in ctx.schema.key])
        return key, rec_bytes if rec_bytes is not None else canonical(record)
    except CanonicalError as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=e.path or None) from None
    except _KeyProblem as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=e.column) from None
    except RecursionError:
        raise InputError(
            "record nested too deeply", code="input.too-deep", source=ctx.source, line=line
        ) from None


def _check_size(rec_bytes: bytes, ctx: Context, line: int) -> None:
    if len(rec_bytes) > ctx.max_record_bytes:
        raise InputError(
            f"record is {len(rec_bytes)} bytes, over the limit of {ctx.max_record_bytes}",
            code="input.record-too-large",
            source=ctx.source,
            line=line,
        )


def _entry(rec_bytes: bytes, key: bytes, ctx: Context, line: int) -> bytes:
    _check_size(rec_bytes, ctx, line)
    if ctx.salt_secret is None:
        return b'{"record":' + rec_bytes + b"}"
    return entry_bytes(rec_bytes, record_salt(ctx.salt_secret, key))


def _plain_csv(ctx: Context) -> bool:
    """Untyped columns and ASCII names: every record is a flat object of strings."""
    return not any(ctx.schema.columns.get(n, "string") != "string" for n in ctx.header) and all(
        n.isascii() for n in ctx.header
    )


def _plain_csv_chunk(
    chunk: Chunk, ctx: Context, entries: list[bytes], keys: list[bytes], lines: list[int]
) -> None:
    """The hot loop for the common case (see :func:`_plain_csv`); same bytes as the general path.

    Strings decoded from UTF-8 are always in the fast canonical domain, so orjson's output is
    the RFC 8785 form here without a per-value check.
    """
    text = decode_text(chunk.data, ctx.source, chunk.first_line)
    header = ctx.header
    width = len(header)
    key_idx = [header.index(c) for c in ctx.schema.key]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS
    first, line = chunk.first_line, chunk.first_line
    add_entry, add_key, add_line = entries.append, keys.append, lines.append
    salted = ctx.salt_secret is not None
    limit = ctx.max_record_bytes
    try:
        for row in reader:
            start, line = line, first + reader.line_num
            if len(row) != width:
                if not row:
                    continue
                raise InputError(
                    f"row has {len(row)} fields, the header has {width}",
                    code="input.ragged-row",
                    source=ctx.source,
                    line=start,
                )
            key_values = [row[i] for i in key_idx]
            if not all(key_values):
                col = header[key_idx[key_values.index("")]]
                raise InputError(
                    f"key column {col!r} is empty",
                    code="input.empty-key",
                    source=ctx.source,
                    line=start,
                    column=col,
                )
            rec = dumps(dict(zip(header, row, strict=True)), option=sort)
            key = dumps(key_values)
            if salted or len(rec) > limit:
                add_entry(_entry(rec, key, ctx, start))
            else:
                add_entry(b'{"record":' + rec + b"}")
            add_key(key)
            add_line(start)
    except csv.Error as e:
        raise InputError(
            f"malformed CSV: {e}", code="input.malformed", source=ctx.source, line=first + reader.line_num - 1
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


def _csv_records(chunk: Chunk, ctx: Context) -> Iterator[tuple[int, dict[str, Any], bytes | None]]:
    text = decode_text(chunk.data, ctx.source, chunk.first_line)
    header = ctx.header
    width = len(header)
    typed = [
        (i, name, ctx.schema.columns[name])
        for i, name in enumerate(header)
        if ctx.schema.columns.get(name, "string") != "string"
    ]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = chunk.first_line
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise InputError(
                f"malformed CSV: {e}",
                code="input.malformed",
                source=ctx.source,
                line=chunk.first_line + reader.line_num - 1,
            ) from None
        start, line = line, chunk.first_line + reader.line_num
        if not row:
            continue
        if len(row) != width:
            raise InputError(
                f"row has {len(row)} fields, the header has {width}",
                code="input.ragged-row",
                source=ctx.source,
                line=start,
            )
        record: dict[str, Any] = dict(zip(header, row, strict=True))
        for i, name, kind in typed:
            try:
                record[name] = convert_cell(row[i], kind)
            except CellError as e:
                raise InputError(e.reason, code=e.code, source=ctx.source, line=start, column=name) from None
        yield start, record, None
