"""A parent snapshot's records by key — what a derived snapshot's refs are pinned against — in a
form the ingest's worker processes can share.

Pinning used to run in the parent process, after the workers had parsed the refs: each ref was
pickled back as an object and looked up serially, so a 1M-record derived upload ran at ~30 k
records/s with the parent as the bottleneck. Now each worker pins its own chunks. An index is two
flat buffers (key texts, newline-separated, and 32-byte leaf hashes in the same order), cheap to
write to a file once per ingest; a worker loads each file once and keeps it in
:data:`_LOADED`, keyed by the file's path, while the ingest lasts. Key texts are RFC 8785 JSON and
never hold a raw newline.
"""

from __future__ import annotations

import itertools
import tempfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from provenance.merkle import leaf_hashes

# A worker keeps the indexes of the last few ingests it served (each ~100 MB per 1M keys).
_KEEP = 4
_LOADED: OrderedDict[str, KeyedLeaves] = OrderedDict()
_MAGIC = b"provenance-upstream/v1\n"
_SEQ = itertools.count()


class KeyedLeaves:
    """Leaf hashes of one snapshot's records, by key text."""

    def __init__(self, keys: bytes, leaves: bytes) -> None:
        self.keys = keys  # key texts, each followed by b"\n"
        self.leaves = leaves  # 32 bytes per record, same order
        self._map: dict[bytes, bytes] | None = None

    @classmethod
    def of_entries(cls, keys: Sequence[bytes], entries: Sequence[bytes]) -> KeyedLeaves:
        return cls(b"".join(k + b"\n" for k in keys), leaf_hashes(entries))

    def leaf_hash(self, key_text: bytes) -> bytes | None:
        if self._map is None:  # built on first use: only the process that pins pays for it
            leaves = self.leaves
            keys = self.keys.split(b"\n")[:-1]
            self._map = dict(zip(keys, (leaves[i : i + 32] for i in range(0, len(leaves), 32)), strict=True))
        return self._map.get(key_text)

    def __len__(self) -> int:
        return len(self.leaves) // 32

    def write(self, path: Path) -> None:
        with path.open("wb") as f:
            f.write(_MAGIC + b"%d\n" % len(self))
            f.write(self.leaves)
            f.write(self.keys)

    @classmethod
    def read(cls, path: Path) -> KeyedLeaves:
        data = path.read_bytes()
        head, _, rest = data[len(_MAGIC) :].partition(b"\n")
        if not data.startswith(_MAGIC):
            raise ValueError(f"{path.name} is not an upstream index")
        n = int(head)
        return cls(rest[32 * n :], rest[: 32 * n])


# (dataset, version) -> where a worker finds that parent's index: a path, or a name in _LOADED
Tokens = tuple[tuple[str, int, str], ...]


def resolve(tokens: Tokens) -> dict[tuple[str, int], KeyedLeaves]:
    """The indexes a chunk's refs are pinned against, loading each file once per process."""
    out = {}
    for dataset, version, token in tokens:
        index = _LOADED.get(token)
        if index is None:
            index = KeyedLeaves.read(Path(token))
            _LOADED[token] = index
            while len(_LOADED) > _KEEP:
                _LOADED.popitem(last=False)
        else:
            _LOADED.move_to_end(token)
        out[(dataset, version)] = index
    return out


@contextmanager
def shared(upstream: Mapping[tuple[str, int], KeyedLeaves], *, in_process: bool) -> Iterator[Tokens]:
    """Tokens for ``upstream`` that :func:`resolve` turns back into the indexes: in this process
    directly, or (for worker processes) through files that live as long as the block."""
    with tempfile.TemporaryDirectory(prefix="provenance-upstream-") as tmp:
        tokens = tuple((d, v, f"mem:{next(_SEQ)}") for d, v in upstream)
        if in_process:
            _LOADED.update(zip((t for _, _, t in tokens), upstream.values(), strict=True))
        else:
            tokens = tuple((d, v, str(Path(tmp) / f"{i}.idx")) for i, (d, v, _) in enumerate(tokens))
            for (_, _, path), index in zip(tokens, upstream.values(), strict=True):
                index.write(Path(path))
        try:
            yield tokens
        finally:  # this process may have loaded a file too (a second pass over the file)
            for _, _, token in tokens:
                _LOADED.pop(token, None)
