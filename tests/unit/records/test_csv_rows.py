"""The hot loop of flat CSV (typed string, integer, number and boolean columns) gives the general
path's entries, keys and lines, and its errors, on any rows: hostile numbers included."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.errors import InputError
from provenance.records import readers
from provenance.records.chunks import Chunk, Context, entry_of
from provenance.records.csv_rows import csv_records, flat_csv, flat_csv_chunk
from provenance.records.schema import Schema

HEADER = ("id", "price", "volume", "live", "note")
KINDS = {"price": "number", "volume": "integer", "live": "boolean"}

cells = {
    "id": st.sampled_from(["BTC", "ETH", "", "é"]) | st.text(max_size=6),
    "price": st.sampled_from(
        ["97312.5", "1e16", "1.0", "-0.0", "1e-7", "0.00001", "nan", "inf", "1e400", "", "x", "1e15", "3e-5"]
    )
    | st.floats(allow_nan=False).map(repr),
    "volume": st.sampled_from(["1", "-7", "", "9007199254740991", "9007199254740992", "1.5", "0x10"])
    | st.integers(-(2**60), 2**60).map(str),
    "live": st.sampled_from(["true", "false", "", "True", "1"]),
    "note": st.text(max_size=8),
}
rows = st.lists(st.fixed_dictionaries({c: cells[c] for c in HEADER}), min_size=1, max_size=8)


def general(chunk: Chunk, ctx: Context) -> tuple[list[bytes], list[bytes], list[int]]:
    """csv_records, then the key and canonical bytes as every other format gets them."""
    entries, keys, lines = [], [], []
    for line, record, rec_bytes in csv_records(chunk, ctx):
        key, rec = readers._key_and_bytes(record, rec_bytes, ctx, line)
        entries.append(entry_of(rec, key, ctx, line))
        keys.append(key)
        lines.append(line)
    return entries, keys, lines


def flat(chunk: Chunk, ctx: Context) -> tuple[list[bytes], list[bytes], list[int]]:
    entries: list[bytes] = []
    keys: list[bytes] = []
    lines: list[int] = []
    flat_csv_chunk(chunk, ctx, entries, keys, lines)
    return entries, keys, lines


def outcome(fn: Any, chunk: Chunk, ctx: Context) -> object:
    try:
        return fn(chunk, ctx)
    except InputError as e:
        return (e.code, e.message, e.line, e.column)


@settings(max_examples=400, deadline=None)
@given(rows, st.sampled_from([("id",), ("id", "volume"), ("price",)]), st.booleans(), st.booleans())
def test_the_flat_loop_is_the_general_path(
    data: list[dict[str, str]], key: tuple[str, ...], typed: bool, salted: bool
) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[r[c] for c in HEADER] for r in data])
    schema = Schema(key=key, columns=KINDS if typed else {}, salted=salted)
    ctx = Context("t.csv", "csv", schema, HEADER, salt_secret=b"s" * 32 if salted else None)
    assert flat_csv(ctx)
    chunk = Chunk(2, buf.getvalue().encode())
    assert outcome(flat, chunk, ctx) == outcome(general, chunk, ctx)


@pytest.mark.parametrize(
    ("columns", "header", "expected"),
    [
        ({}, ("a", "b"), True),
        ({"b": "integer"}, ("a", "b"), True),
        ({"b": "json"}, ("a", "b"), False),  # a JSON cell can hold anything: the general path
        ({}, ("a", "é"), False),  # a non-ASCII name: UTF-16 and UTF-8 key orders may differ
    ],
)
def test_which_files_take_the_flat_loop(
    columns: dict[str, str], header: tuple[str, ...], expected: bool
) -> None:
    assert flat_csv(Context("t.csv", "csv", Schema(key=("a",), columns=columns), header)) is expected
