"""Tamperings of the fields of a document (scripts/make_web_corpus.py): each takes the parsed JSON
and a seeded ``random.Random`` and returns the tampered document, or None when it does not apply.

Fields are found by the names the formats give them, so one operation reaches a bundle, its
upstream bundles and every record and snapshot of a collection alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from random import Random
from typing import Any

Doc = Any
Path = tuple[Any, ...]

HEX = re.compile(r"^0x[0-9a-fA-F]+$")
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def walk(doc: Doc, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from walk(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from walk(v, (*path, i))


def at(doc: Doc, path: Path) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def put(doc: Doc, path: Path, value: Any) -> Doc:
    if not path:
        return value
    at(doc, path[:-1])[path[-1]] = value
    return doc


def pick(rng: Random, items: list[Any]) -> Any:
    return items[rng.randrange(len(items))] if items else None


def paths(doc: Doc, test: Callable[[Path, Any], bool]) -> list[Path]:
    return [p for p, v in walk(doc) if test(p, v)]


def named(doc: Doc, name: str) -> list[Path]:
    """Paths of the members called ``name``, wherever they are."""
    return paths(doc, lambda p, _: bool(p) and p[-1] == name)


def flip_hex(text: str, rng: Random) -> str:
    i = rng.randrange(2, len(text))
    digits = [d for d in "0123456789abcdef" if d != text[i].lower()]
    return text[:i] + pick(rng, digits) + text[i + 1 :]


def with_path(doc: Doc, path: Path | None, fn: Callable[[Any], Any]) -> Doc | None:
    return None if path is None else put(doc, path, fn(at(doc, path)))


# --- hex digits of named fields -----------------------------------------------------------------


def hex_in(*names: str) -> Callable[[Doc, Random], Doc | None]:
    """Flip a hex digit of a 0x-string somewhere under a member called one of ``names``."""

    def op(doc: Doc, rng: Random) -> Doc | None:
        targets = [
            p
            for p, v in walk(doc)
            if isinstance(v, str) and len(v) > 2 and HEX.match(v) and any(n in p for n in names)
        ]
        return with_path(doc, pick(rng, targets), lambda v: flip_hex(v, rng))

    return op


def any_hex(doc: Doc, rng: Random) -> Doc | None:
    targets = paths(doc, lambda _, v: isinstance(v, str) and bool(HEX.match(v)) and len(v) > 2)
    return with_path(doc, pick(rng, targets), lambda v: flip_hex(v, rng))


# --- numbers, members, types ---------------------------------------------------------------------


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def bump_number(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, paths(doc, lambda _, v: is_number(v)))
    return with_path(doc, target, lambda v: v + pick(rng, [1, -1, 2]) if isinstance(v, int) else v + 0.5)


def odd_number(doc: Doc, rng: Random) -> Doc | None:
    """A number Python and JavaScript see differently: integral floats, big and negative ints."""
    target = pick(rng, paths(doc, lambda _, v: is_number(v)))
    odd = [lambda v: float(v), 2**53, 2**53 + 1, 2**64 - 1, 2**64, -1, 0, 10**20, 1e16, 0.5]
    return with_path(doc, target, lambda v: (lambda o: o(v) if callable(o) else o)(pick(rng, odd)))


def drop_member(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, paths(doc, lambda p, _: bool(p) and isinstance(p[-1], str)))
    if target is None:
        return None
    del at(doc, target[:-1])[target[-1]]
    return doc


EXTRA_NAMES = ["extra", "digest", "salt", "derived_from", "upstream", "checkpointIndex", "truncated",
               "depth", "root", "layout", "dataset", "leaf", "columns", "derivedFrom"]  # fmt: skip
EXTRA_VALUES: list[Any] = [1, "x", None, [], {}, True, "0x" + "00" * 32, "00" * 32, 0]


def add_member(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, paths(doc, lambda _, v: isinstance(v, dict)))
    if target is None:
        return None
    at(doc, target)[pick(rng, EXTRA_NAMES)] = pick(rng, EXTRA_VALUES)
    return doc


OTHER_TYPES: list[Any] = [None, "", "0x", [], {}, True, False, 0, 1.5, -3, "text", [1], {"a": 1}]


def retype(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, paths(doc, lambda p, _: bool(p)))
    return with_path(doc, target, lambda _: pick(rng, OTHER_TYPES))


# --- inclusion paths -----------------------------------------------------------------------------


def path_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, named(doc, "inclusionPath"))
    if target is None:
        return None
    items = list(at(doc, target))
    kind = rng.randrange(5)
    if kind == 0 and len(items) > 1:
        i, j = rng.sample(range(len(items)), 2)
        items[i], items[j] = items[j], items[i]
    elif kind == 1 and items:
        items.pop(rng.randrange(len(items)))
    elif kind == 2:
        items.append(f"0x{rng.getrandbits(256):064x}")
    elif kind == 3:
        items = items[: rng.randrange(len(items) + 1)]
    else:
        items = items + items
    return put(doc, target, items)


# --- keys, entries, refs -------------------------------------------------------------------------

KEY_VALUES: list[Any] = ["BTC", "ETH", "btc", "", 1, 1.0, True, None, ["BTC"], 2**60, "BTC\n"]


def key_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, [p for p in named(doc, "key") if isinstance(at(doc, p), list)])
    if target is None:
        return None
    key = list(at(doc, target))
    kind = rng.randrange(3)
    if kind == 0 and key:
        key[rng.randrange(len(key))] = pick(rng, KEY_VALUES)
    elif kind == 1:
        key.append(pick(rng, KEY_VALUES))
    else:
        key = key[:-1]
    return put(doc, target, key)


def record_value(doc: Doc, rng: Random) -> Doc | None:
    records = [p for p in named(doc, "record") if isinstance(at(doc, p), dict) and "entry" not in at(doc, p)]
    target = pick(rng, records)
    if target is None:
        return None
    record = at(doc, target)
    column = pick(rng, sorted(record))
    value = record[column]
    if isinstance(value, str):
        record[column] = value[:-1] + chr(ord(value[-1]) ^ 1) if value else "x"
    else:
        record[column] = pick(
            rng, [value + 1 if is_number(value) else 1, -0.0, 1e21, "7", None, 2**53, [[[1]]]]
        )
    return doc


def entry_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, named(doc, "entry"))
    if target is None or not isinstance(at(doc, target), dict):
        return None
    entry = at(doc, target)
    kind = rng.randrange(5)
    if kind == 0:
        entry["salt"] = pick(rng, ["00" * 32, "AB" * 32, "00" * 31, 5])
    elif kind == 1:
        entry.pop("salt", None) if "salt" in entry else entry.pop("derived_from", None)
    elif kind == 2:
        entry["record"] = deep([1], 70) if rng.random() < 0.5 else {}
    elif kind == 3:
        entry["derived_from"] = []
    else:
        entry["record"][pick(rng, ["symbol", "date", "__proto__", "constructor", "é"])] = pick(
            rng, KEY_VALUES
        )
    return doc


def deep(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


def ref_op(doc: Doc, rng: Random) -> Doc | None:
    refs = [
        (*p, i)
        for p in named(doc, "derived_from")
        if isinstance(at(doc, p), list)
        for i in range(len(at(doc, p)))
    ]
    target = pick(rng, refs)
    if target is None:
        return None
    ref = at(doc, target)
    kind = rng.randrange(6)
    if kind == 0 and "leaf" in ref:
        ref["leaf"] = flip_hex(ref["leaf"], rng)
    elif kind == 1:
        ref["key"] = [*ref["key"][:-1], "2026-11-25"]
    elif kind == 2:
        ref["version"] = ref["version"] + 1
    elif kind == 3:
        ref.pop("leaf", None)
    elif kind == 4:
        at(doc, target[:-1]).append(dict(ref))
    else:
        ref["key"] = [2**60] if rng.random() < 0.3 else ["ETH", ref["key"][-1]]
    return doc


# --- checkpoint notes and log keys ---------------------------------------------------------------


def note_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, [p for p in named(doc, "checkpoint") if isinstance(at(doc, p), str)])
    return with_path(doc, target, lambda n: pick(rng, NOTE_EDITS)(n, rng))


def _flip_b64(text: str, rng: Random) -> str:
    i = rng.randrange(len(text))
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


def _signature_part(note: str, fn: Callable[[str], str]) -> str:
    body, sep, sigs = note.partition("\n\n")
    return body + sep + fn(sigs)


NOTE_EDITS: list[Callable[[str, Random], str]] = [
    lambda n, r: n.replace("\u2014 ", "- ", 1),
    lambda n, r: n[:-1],
    lambda n, r: n.replace("\n\n", "\n", 1),
    lambda n, r: _signature_part(
        n, lambda s: s.split(" ")[0] + " " + _flip_b64(s.split(" ")[1].rstrip("\n"), r) + "\n"
    ),
    lambda n, r: n.replace("\n5\n", "\n6\n", 1),
    lambda n, r: n + "\u2014 other.example/log " + "A" * 88 + "\n",
    lambda n, r: _signature_part(n, lambda s: s.replace("ledger ", "ledger2 ", 1)),
    lambda n, r: n.replace("\n", "\t\n", 1),
    lambda n, r: _signature_part(n, lambda s: s[:-3] + "é=\n"),
    lambda n, r: _signature_part(n, lambda s: s.split(" ")[0] + " AAAA\n"),
    lambda n, r: n + "\n",
    lambda n, r: "",
    lambda n, r: n.replace("provenance.example/ledger\n", "other.example\n", 1),
    lambda n, r: _signature_part(n, lambda s: s.replace("=\n", "\n")),
    lambda n, r: n.replace("\n\n", "\nextension line\n\n", 1),
]


def log_key_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, named(doc, "logKey"))
    edits: list[Callable[[str], str]] = [
        lambda k: _flip_b64(k, rng),
        lambda k: k.replace("provenance.example/ledger", "other", 1),
        lambda k: k.rsplit("+", 1)[0],
        lambda k: k.replace("+6644130e+", "+6644130f+", 1),
        lambda k: f"  {k}\n",
        lambda k: k.replace("+6644130e+", "+66 44 13 0e+", 1),
        lambda k: k[:-1] + "é",
        lambda k: k + "=",
        lambda k: "name with space+00000000+AQ==",
    ]
    return with_path(doc, target, lambda k: pick(rng, edits)(k))


# --- signatures, manifests, domains --------------------------------------------------------------


def high_s(sig: str) -> str:
    raw = bytes.fromhex(sig[2:])
    s = int.from_bytes(raw[32:64], "big")
    return "0x" + (raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])).hex()


SIGNATURE_EDITS: list[Callable[[str], str]] = [
    lambda s: s[:-1],
    lambda s: s[:-2],
    lambda s: s[:-2] + "00",
    lambda s: s[:-2] + ("1c" if s.endswith("1b") else "1b"),
    lambda s: s[:-2] + "1d",
    high_s,
    lambda s: "0x" + "00" * 32 + s[66:],
    lambda s: s.upper().replace("0X", "0x"),
    lambda s: "0x",
    lambda s: s + "00",
    lambda s: "0x" + "ff" * 32 + s[66:],
]


def signature_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, [p for p in named(doc, "signature") if "signer" in at(doc, p[:-1])])
    return with_path(doc, target, lambda s: pick(rng, SIGNATURE_EDITS)(s))


MANIFEST_EDITS: list[tuple[str, Any]] = [
    ("dataset", "TM/ratings"), ("dataset", "tm/other"), ("dataset", 5), ("version", 0), ("version", 1.0),
    ("version", "1"), ("version", 2), ("root", "0x12"), ("root", "nothex"), ("size", -1), ("size", 2**64),
    ("size", 7.0), ("size", 8), ("createdAt", 1.5), ("createdAt", -1), ("parents", {}), ("parents", [{}]),
    ("transform", {"name": 1, "code": "x", "params": {}}), ("transform", {"name": "n", "code": "c"}),
    ("transform", {"name": "n", "code": "c", "params": []}), ("transform", None),
    ("transform", {"name": "n", "code": "c", "params": {"window": 2**60}}),
    ("datasetId", "0x12"), ("schemaHash", "0x" + "00" * 32), ("transformHash", "0x" + "11" * 32),
    ("schema", None), ("schema", {"format": "provenance-schema/v1", "key": []}),
]  # fmt: skip
SCHEMA_EDITS: list[tuple[str, Any]] = [
    ("format", "x"), ("key", []), ("key", ["symbol", "symbol"]), ("key", "symbol"), ("key", ["date"]),
    ("columns", {"a": "blob"}), ("columns", None), ("columns", {"symbol": "json"}), ("salted", "yes"),
    ("salted", True), ("derivedFrom", "symbol"), ("derivedFrom", ""), ("derivedFrom", 3), ("extra", 1),
]  # fmt: skip
PARENT_EDITS: list[tuple[str, Any]] = [
    ("dataset", "tm/x"), ("dataset", "BAD NAME"), ("dataset", None), ("version", 0), ("version", 41.0),
    ("extra", 1), ("root", "0x" + "00" * 32), ("datasetId", "0x" + "ab" * 31),
]  # fmt: skip


def manifest_op(doc: Doc, rng: Random) -> Doc | None:
    manifests = [
        p for p, v in walk(doc) if isinstance(v, dict) and v.get("format") == "provenance-manifest/v1"
    ]
    target = pick(rng, manifests)
    if target is None:
        return None
    m = at(doc, target)
    roll = rng.random()
    if roll < 0.5:
        name, value = pick(rng, MANIFEST_EDITS)
        m[name] = value
    elif roll < 0.75 and isinstance(m.get("schema"), dict):
        name, value = pick(rng, SCHEMA_EDITS)
        m["schema"][name] = value
    elif m.get("parents"):
        name, value = pick(rng, PARENT_EDITS)
        m["parents"][0][name] = value
    else:
        m.pop(pick(rng, sorted(m)))
    return doc


DOMAIN_EDITS: list[tuple[str, Any]] = [
    ("name", "Other"), ("version", "2"), ("chainId", 0), ("chainId", 1), ("chainId", 31337.0),
    ("chainId", 2**64), ("chainId", True), ("extra", 1),
    ("verifyingContract", "0x5fbdb2315678afecb367f032d93f642f64180aa3"),
    ("verifyingContract", "0x5FbDB2315678afecb367f032d93F642f64180aa"),
]  # fmt: skip


def domain_op(doc: Doc, rng: Random) -> Doc | None:
    target = pick(rng, named(doc, "domain"))
    if target is None:
        return None
    name, value = pick(rng, DOMAIN_EDITS)
    at(doc, target)[name] = value
    return doc
