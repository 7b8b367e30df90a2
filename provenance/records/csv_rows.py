"""CSV records: the header, the hot loop of untyped CSV, and typed rows as JSON objects.

The csv module's dialect is RFC 4180's (quotes doubled inside quoted fields); a chunk never
cuts a quoted field (see :mod:`provenance.records.readers`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from provenance.errors import InputError
from provenance.records.chunks import Chunk, Context, decode_text, entry_of
from provenance.records.schema import CellError, Schema, check_key_columns, convert_cell

BOM = b"\xef\xbb\xbf"
# The csv module's own field limit (128 KiB) refused records the record limit (1 MiB by default,
# the same for every format) allows; the record limit is checked on each record instead.
csv.field_size_limit(2**31 - 1)


def csv_header(stream: BinaryIO, source: str, schema: Schema) -> tuple[tuple[str, ...], bytes, int]:
    raw = b""
    while True:
        block = stream.read(1 << 16)
        raw += block
        cut = _first_safe_newline(raw)
        if cut >= 0 or not block:
            break
    if cut < 0:
        cut = len(raw)
    head, rest = raw[:cut].removeprefix(BOM), raw[cut:]
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


def plain_csv(ctx: Context) -> bool:
    """Untyped columns and ASCII names: every record is a flat object of strings."""
    return not any(ctx.schema.columns.get(n, "string") != "string" for n in ctx.header) and all(
        n.isascii() for n in ctx.header
    )


def plain_csv_chunk(
    chunk: Chunk,
    ctx: Context,
    entries: list[bytes],
    keys: list[bytes],
    lines: list[int],
) -> None:
    """The hot loop for the common case (see :func:`plain_csv`); same bytes as the general path.

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
                add_entry(entry_of(rec, key, ctx, start))
            else:
                add_entry(b'{"record":' + rec + b"}")
            add_key(key)
            add_line(start)
    except csv.Error as e:
        raise InputError(
            f"malformed CSV: {e}", code="input.malformed", source=ctx.source, line=first + reader.line_num - 1
        ) from None


def csv_records(chunk: Chunk, ctx: Context) -> Iterator[tuple[int, dict[str, Any], bytes | None]]:
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
