"""CSV records: the header, the hot loop of flat CSV, and any typed rows as JSON objects.

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
from provenance.records.canonical import CanonicalError, canonical, key_text
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


FLAT_KINDS = ("string", "integer", "number", "boolean")


def plain_csv(ctx: Context) -> bool:
    """Untyped columns and ASCII names: every record is a flat object of strings."""
    return all(n.isascii() for n in ctx.header) and all(
        ctx.schema.columns.get(n, "string") == "string" for n in ctx.header
    )


def flat_csv(ctx: Context) -> bool:
    """ASCII column names, every column a string, integer, number or boolean: each record is a
    flat object whose canonical form orjson gives, but for a number outside the fast domain."""
    return all(n.isascii() for n in ctx.header) and all(
        ctx.schema.columns.get(n, "string") in FLAT_KINDS for n in ctx.header
    )


def flat_csv_chunk(
    chunk: Chunk,
    ctx: Context,
    entries: list[bytes],
    keys: list[bytes],
    lines: list[int],
    values: dict[str, list[Any]] | None = None,
) -> None:
    """The hot loop for the common case (see :func:`flat_csv`): the same bytes and the same
    errors as the general path (``csv_records``, then ``readers._key_and_bytes``), which
    tests/unit/records/test_csv_rows.py holds it to. ``values`` collects the typed cells of the
    columns the schema's rules judge, as the general path does.

    Strings decoded from UTF-8, booleans, null and integers (``convert_cell`` bounds them to
    ±(2^53-1)) are always in the fast canonical domain, so only a number is looked at: one
    outside the domain sends its record to the reference encoder.
    """
    text = decode_text(chunk.data, ctx.source, chunk.first_line)
    header = ctx.header
    width = len(header)
    typed = [(i, n, ctx.schema.columns[n]) for i, n in enumerate(header) if n in ctx.schema.columns]
    typed = [t for t in typed if t[2] != "string"]
    key_cols = ctx.schema.key
    typed_key = any(name in key_cols for _, name, _ in typed)  # else the key values are strings
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS
    first, line = chunk.first_line, chunk.first_line
    salted = ctx.salt_secret is not None
    limit = ctx.max_record_bytes
    try:
        for row in reader:
            start, line = line, first + reader.line_num
            if len(row) != width:
                if not row:
                    continue
                raise _ragged(row, width, ctx, start)
            record: dict[str, Any] = dict(zip(header, row, strict=True))
            fast = _convert(record, row, typed, ctx, start) if typed else True
            key_values = _key_values(record, key_cols, ctx, start)
            rec = dumps(record, option=sort) if fast else _reference(record, ctx, start)
            key = _key_of(key_values, ctx, start) if typed_key else dumps(key_values)
            if salted or len(rec) > limit:
                entries.append(entry_of(rec, key, ctx, start))
            else:
                entries.append(b'{"record":' + rec + b"}")
            keys.append(key)
            lines.append(start)
            for col, column in (values or {}).items():
                column.append(record.get(col))
    except csv.Error as e:
        raise InputError(
            f"malformed CSV: {e}", code="input.malformed", source=ctx.source, line=first + reader.line_num - 1
        ) from None


def _convert(
    record: dict[str, Any], row: list[str], typed: list[tuple[int, str, str]], ctx: Context, line: int
) -> bool:
    """The typed cells of ``row`` into ``record``; whether orjson gives its canonical form."""
    fast = True
    for i, name, kind in typed:
        try:
            value = record[name] = convert_cell(row[i], kind)
        except CellError as e:
            raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=name) from None
        if kind == "number" and value is not None:
            fast = fast and 1e-5 <= abs(value) < 1e15 and not value.is_integer()
    return fast


def _key_values(record: dict[str, Any], key_cols: tuple[str, ...], ctx: Context, line: int) -> list[Any]:
    values = [record[c] for c in key_cols]
    for c, v in zip(key_cols, values, strict=True):
        if v is None or v == "":
            raise InputError(
                f"key column {c!r} is empty", code="input.empty-key", source=ctx.source, line=line, column=c
            )
    return values


def _ragged(row: list[str], width: int, ctx: Context, line: int) -> InputError:
    return InputError(
        f"row has {len(row)} fields, the header has {width}",
        code="input.ragged-row",
        source=ctx.source,
        line=line,
    )


def _reference(record: dict[str, Any], ctx: Context, line: int) -> bytes:
    try:
        return canonical(record)
    except CanonicalError as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=e.path or None) from None


def _key_of(values: list[Any], ctx: Context, line: int) -> bytes:
    try:
        return key_text(values)
    except CanonicalError as e:
        raise InputError(e.reason, code=e.code, source=ctx.source, line=line, column=e.path or None) from None


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
            raise _ragged(row, width, ctx, start)
        record: dict[str, Any] = dict(zip(header, row, strict=True))
        for i, name, kind in typed:
            try:
                record[name] = convert_cell(row[i], kind)
            except CellError as e:
                raise InputError(e.reason, code=e.code, source=ctx.source, line=start, column=name) from None
        yield start, record, None
