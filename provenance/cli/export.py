"""``provenance export``: a version whole, from a running ledger or its data directory — its
records (leaf inputs, one per line), or with ``--with-proofs`` a ``provenance-proofs/v1``
collection with a proof on every record (what a publisher attaches to the ratings it publishes).
"""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

import orjson
import typer

from provenance.cli.api_client import get_lines
from provenance.cli.common import errors_to_exit, settings
from provenance.errors import ConfigError, InputError
from provenance.proofs.collection_stream import is_jsonl_header


def export(
    dataset: Annotated[str, typer.Argument(help="Dataset name")],
    version: Annotated[int, typer.Argument(help="Version")],
    with_proofs: Annotated[bool, typer.Option(help="A proof on every record (a proofs collection)")] = False,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (streamed) or json (one document)")] = "jsonl",
    api: Annotated[str | None, typer.Option(help="A running ledger (default: the data directory)")] = None,
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
    token: Annotated[str | None, typer.Option(help="Admin token (a salted dataset's records)")] = None,
) -> None:
    """Write a version's records, or with --with-proofs its provenance-proofs/v1 collection."""
    with errors_to_exit():
        if fmt not in ("json", "jsonl"):
            raise InputError("--format must be json or jsonl", code="input.bad-arguments")
        if fmt == "json" and not with_proofs:
            raise InputError("--format json is for --with-proofs collections", code="input.bad-arguments")
        lines = _lines(dataset, version, with_proofs, api, token)
        with _sink(output) as out:
            if fmt == "json":
                _as_document(lines, out)
            else:
                for line in lines:
                    out.write(line + b"\n")


def _lines(
    dataset: str, version: int, with_proofs: bool, api: str | None, token: str | None
) -> Iterator[bytes]:
    if api is not None:
        query = "?with_proofs=true" if with_proofs else ""
        name = urllib.parse.quote(dataset)
        return get_lines(f"{api.rstrip('/')}/v1/datasets/{name}/versions/{version}/records{query}", token)
    try:
        from provenance.server.bootstrap import open_prover
    except ImportError:
        raise ConfigError(
            "exporting from a data directory needs the server install "
            "(pip install 'provenance-ledger[server]'), or give --api URL",
            code="config.server-not-installed",
        ) from None
    prover = open_prover(settings())
    chunks = prover.records_with_proofs(dataset, version) if with_proofs else prover.records(dataset, version)
    return (line for chunk in chunks for line in chunk.split(b"\n") if line)


def _as_document(lines: Iterator[bytes], out: BinaryIO) -> None:
    """The JSON Lines collection as one JSON document, written as it streams."""
    header = orjson.loads(next(lines, b"{}"))
    if not is_jsonl_header(header):
        raise InputError("the ledger did not answer a proofs collection", code="collection.malformed")
    out.write(b'{"format":"provenance-proofs/v1","snapshots":' + orjson.dumps(header["snapshots"]))
    out.write(b',"records":[')
    for i, line in enumerate(lines):
        out.write((b"," if i else b"") + line)
    out.write(b"]}\n")


class _sink:  # noqa: N801 - a context manager used like open()
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def __enter__(self) -> BinaryIO:
        self.file: BinaryIO = sys.stdout.buffer if self.path is None else self.path.open("wb")
        return self.file

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            self.file.close()
