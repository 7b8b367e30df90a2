"""Parquet: one chunk per row group; Arrow values become JSON values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provenance.errors import InputError
from provenance.records.chunks import Chunk, Context
from provenance.records.schema import CellError, Schema, check_key_columns


def parquet_plan(path: Path, schema: Schema, source: str) -> tuple[tuple[str, ...], Iterator[Chunk]]:
    import pyarrow.parquet as pq  # deferred: pyarrow costs ~0.3 s to import

    try:
        meta = pq.ParquetFile(path).metadata
    except OSError as e:
        raise InputError(
            f"cannot read file: {e.strerror or 'I/O error'}", code="input.unreadable", source=source
        ) from None
    except Exception as e:  # pyarrow raises ArrowInvalid for files that are not Parquet
        reason = str(e).replace(str(path), source)  # pyarrow may quote the file's path
        raise InputError(f"not a Parquet file: {reason}", code="input.malformed", source=source) from None
    columns = tuple(meta.schema.names)
    check_key_columns(columns, schema, source)

    def chunks() -> Iterator[Chunk]:
        row = 1
        for i in range(meta.num_row_groups):
            yield Chunk(first_line=row, row_group=i)
            row += meta.row_group(i).num_rows

    return columns, chunks()


def parquet_records(chunk: Chunk, ctx: Context) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(ctx.source).read_row_group(chunk.row_group)
    for i, rec in enumerate(table.to_pylist()):
        row = chunk.first_line + i
        try:
            yield row, {k: _from_arrow(v) for k, v in rec.items()}
        except CellError as e:
            raise InputError(e.reason, code=e.code, source=ctx.source, line=row) from None


def _from_arrow(value: Any) -> Any:
    """Arrow values as JSON values: temporal types and decimals become ISO/decimal strings."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {k: _from_arrow(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_arrow(v) for v in value]
    if isinstance(value, bytes):
        raise CellError(
            "binary values have no JSON form; store them as hex or base64 strings", "input.unsupported-type"
        )
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal and other exact numerics keep their exact text
