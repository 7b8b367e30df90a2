"""A chunk's rule columns as Arrow arrays, so rules run at C speed (pyarrow compute, RE2).

Every value becomes its text and, unless every value of the chunk is text (CSV), a one-letter
kind: ``s`` string, ``n`` number, ``b`` boolean, ``j`` object or array (the text then is its
JSON). A missing field or a JSON null is a null. The rules (:mod:`provenance.quality.evaluate`)
read Frictionless's field types from that pair: ``"12.5"`` in a CSV column is a number when it
is written as a JSON number would be, a JSON string ``"12.5"`` is text to ``enum``, and so on.

A plain CSV chunk is parsed a second time by Arrow's CSV reader, for the rule columns only: the
csv module's rows cost ~100 ns per value to turn into arrays, six rules' worth of which was more
than a tenth of the ingest. The reader must agree with the csv module on every row; when it
counts other rows (or refuses the chunk) the csv module's rows are used instead.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv


@dataclass(frozen=True)
class Column:
    text: pa.Array  # string; null for a missing value
    kind: pa.Array | None = None  # string of s/n/b/j; None: every value is text


def of_values(values: Sequence[Any]) -> Column:
    """A column of JSON values (JSON Lines, typed CSV, Parquet)."""
    texts: list[str | None] = []
    kinds: list[str | None] = []
    dumps = orjson.dumps
    for v in values:
        t = type(v)
        if t is str:
            texts.append(v)
            kinds.append("s")
        elif v is None:
            texts.append(None)
            kinds.append(None)
        elif t is bool:
            texts.append("true" if v else "false")
            kinds.append("b")
        else:
            texts.append(_json_text(v, dumps))
            kinds.append("n" if t is int or t is float else "j")
    return Column(pa.array(texts, pa.string()), pa.array(kinds, pa.string()))


def _json_text(value: Any, dumps: Any) -> str:
    try:
        return str(dumps(value).decode())
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def of_csv(data: bytes, header: tuple[str, ...], names: Sequence[str], rows: int) -> dict[str, Column]:
    """The ``names`` columns of a plain CSV chunk (no header line) holding ``rows`` records."""
    wanted = [n for n in names if n in header]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(
                column_names=list(header), use_threads=False, block_size=max(len(data) + 1, 1 << 20)
            ),
            # Only a quoted field holds a newline; the reader is 40 % faster when told none does.
            parse_options=pa_csv.ParseOptions(newlines_in_values=b'"' in data),
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.string() for n in header},
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError):
        table = None
    if table is None or table.num_rows != rows:
        table = _csv_module(data, header, wanted)
    missing = pa.nulls(rows, pa.string())
    return {n: Column(table.column(n).combine_chunks() if n in wanted else missing) for n in names}


def _csv_module(data: bytes, header: tuple[str, ...], wanted: list[str]) -> pa.Table:
    rows = [r for r in csv.reader(io.StringIO(data.decode("utf-8"), newline="")) if r]
    return pa.table({n: pa.array([r[header.index(n)] for r in rows], pa.string()) for n in wanted})
