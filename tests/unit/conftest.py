"""Shared helpers for unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.ingest import Ingested, ingest_file
from provenance.records.chunks import ChunkResult
from provenance.records.schema import Schema


class ListSink:
    def __init__(self) -> None:
        self.entries: list[bytes] = []
        self.keys: list[bytes] = []

    def add(self, first_index: int, result: ChunkResult) -> None:
        assert first_index == len(self.entries)
        self.entries += result.entries.split(b"\n")[:-1]
        self.keys += result.keys.split(b"\n")[:-1]


@pytest.fixture
def ingest(tmp_path: Path):  # type: ignore[no-untyped-def]
    """ingest(name, content, key=("id",), **build_kwargs) -> (Ingested, ListSink)"""

    def run(
        name: str,
        content: bytes | str,
        key: tuple[str, ...] = ("id",),
        columns: dict[str, str] | None = None,
        salted: bool = False,
        **kwargs: object,
    ) -> tuple[Ingested, ListSink]:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        sink = ListSink()
        built = ingest_file(path, Schema(key, columns or {}, salted), sink, **kwargs)  # type: ignore[arg-type]
        return built, sink

    return run
