"""A snapshot written to a directory: what ``provenance snapshot build`` produces.

Layout (``provenance-snapshot-dir/v1``)::

    manifest.json          the unsigned manifest (provenance-manifest/v1)
    signed-manifest.json   after ``snapshot sign``: manifest, EIP-712 domain, signature, signer
    entries.jsonl          leaf inputs (RFC 8785 entries), one per line, in leaf order
    keys.jsonl             record keys (RFC 8785 lists), same order
    tree.bin               the tree levels (see TreeFile)
    anchor.json            after ``provenance anchor``: the direct anchor (chain, tx, block)

A build writes into a temporary sibling directory and renames it into place, so a failed or
interrupted build never leaves a partial snapshot under the requested name.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from provenance.errors import FormatError, InputError, NotFoundError
from provenance.manifest import Manifest, SignedManifest
from provenance.merkle import HASH_LEN, MerkleTree, level_sizes
from provenance.proofs.bundle import Anchor
from provenance.records.chunks import ChunkResult
from provenance.upstream import KeyedLeaves

TREE_MAGIC = b"PVTREE1\n"
_HEADER = struct.Struct(">8sQ")


def write_tree(path: Path, levels: Sequence[bytes]) -> None:
    size = len(levels[0]) // HASH_LEN if levels else 0
    with path.open("wb") as f:
        f.write(_HEADER.pack(TREE_MAGIC, size))
        for level in levels:
            f.write(level)


class TreeFile:
    """A :class:`~provenance.merkle.NodeSource` over a memory-mapped ``tree.bin``."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as f:
            header = f.read(_HEADER.size)
            if len(header) != _HEADER.size:
                raise FormatError(f"{path} is truncated", code="snapshot.damaged")
            magic, size = _HEADER.unpack(header)
            if magic != TREE_MAGIC:
                raise FormatError(f"{path} is not a tree file", code="snapshot.damaged")
            self._size = int(size)
            self._offsets = []
            offset = _HEADER.size
            for count in level_sizes(size):
                self._offsets.append(offset)
                offset += count * HASH_LEN
            if os.fstat(f.fileno()).st_size != offset:
                raise FormatError(f"{path} has the wrong length for {size} leaves", code="snapshot.damaged")
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None

    @property
    def size(self) -> int:
        return self._size

    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        assert self._map is not None
        m, offs = self._map, self._offsets
        return [m[offs[k] + i * HASH_LEN : offs[k] + (i + 1) * HASH_LEN] for k, i in coords]


class _FileSink:
    def __init__(self, entries: BinaryIO, keys: BinaryIO) -> None:
        self.entries, self.keys = entries, keys

    def add(self, first_index: int, result: ChunkResult) -> None:
        self.entries.write(result.entries)
        self.keys.write(result.keys)


@dataclass
class SnapshotFolder:
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def signed_path(self) -> Path:
        return self.path / "signed-manifest.json"

    def keyed_leaves(self) -> KeyedLeaves:
        """Its records' leaf hashes by key: a parent's, for pinning a derived snapshot's refs."""
        keys = (self.path / "keys.jsonl").read_bytes().split(b"\n")[:-1]
        entries = (self.path / "entries.jsonl").read_bytes().split(b"\n")[:-1]
        return KeyedLeaves.of_entries(keys, entries)

    def manifest(self) -> Manifest:
        return Manifest.from_json(_read_json(self.manifest_path))

    def signed(self) -> SignedManifest:
        if not self.signed_path.exists():
            raise NotFoundError(
                f"{self.path} is not signed yet; run `provenance snapshot sign`", code="snapshot.unsigned"
            )
        return SignedManifest.from_json(_read_json(self.signed_path))

    def tree(self) -> MerkleTree:
        return MerkleTree(TreeFile(self.path / "tree.bin"))

    def find(self, key: bytes) -> int:
        """Leaf index of the record with key text ``key``."""
        with (
            (self.path / "keys.jsonl").open("rb") as f,
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m,
        ):
            needle = b"\n" + key + b"\n"
            pos = 0 if m[: len(key) + 1] == key + b"\n" else m.find(needle)
            if pos < 0:
                raise NotFoundError(f"no record with key {key.decode()}", code="record.not-found")
            if pos > 0:
                pos += 1
            return m[:pos].count(b"\n")

    def entry(self, index: int) -> bytes:
        with (self.path / "entries.jsonl").open("rb") as f:
            for i, line in enumerate(f):
                if i == index:
                    return line.rstrip(b"\n")
        raise NotFoundError(f"no entry {index}", code="record.not-found")

    def write_signed(self, signed: SignedManifest) -> None:
        _write_json_atomic(self.signed_path, signed.to_json())

    def write_anchor(self, anchor: Anchor) -> None:
        _write_json_atomic(self.path / "anchor.json", anchor.to_json())

    def anchor(self) -> Anchor | None:
        """The direct anchor recorded by ``provenance anchor``, if any."""
        path = self.path / "anchor.json"
        if not path.exists():
            return None
        data = _read_json(path)
        try:
            return Anchor(
                data["mode"],
                data["chainId"],
                data["contract"],
                bytes.fromhex(data["txHash"][2:]),
                data["blockNumber"],
                bytes.fromhex(data["blockHash"][2:]),
                data.get("checkpointIndex"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError(f"{path} is damaged: {e}", code="snapshot.damaged") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist", code="snapshot.not-found") from None
    except ValueError as e:
        raise FormatError(f"{path} is not valid JSON: {e}", code="snapshot.damaged") from None


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


class StagedFolder:
    """A snapshot being written; :meth:`commit` moves it into place, anything else removes it."""

    def __init__(self, out: Path) -> None:
        if out.exists():
            raise InputError(f"{out} already exists; choose a new directory", code="snapshot.exists")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        self._entries = (self.tmp / "entries.jsonl").open("wb")
        self._keys = (self.tmp / "keys.jsonl").open("wb")
        self.sink = _FileSink(self._entries, self._keys)

    def commit(
        self, manifest: Manifest, tree: MerkleTree, quality: dict[str, Any] | None = None
    ) -> SnapshotFolder:
        """Write the tree, the manifest and (a schema with rules) the quality report, whose
        digest the manifest carries, and make the folder appear whole."""
        self._entries.close()
        self._keys.close()
        levels = getattr(tree.source, "levels", [])
        write_tree(self.tmp / "tree.bin", levels)
        _write_json_atomic(self.tmp / "manifest.json", manifest.to_json())
        if quality is not None:
            _write_json_atomic(self.tmp / "quality.json", quality)
        os.rename(self.tmp, self.out)
        return SnapshotFolder(self.out)

    def abort(self) -> None:
        self._entries.close()
        self._keys.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
