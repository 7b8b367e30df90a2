"""Tamperings of a document's shape (upstream bundles, a collection's snapshots, records and
lineage) and of its text (what a JSON reader must refuse or read exactly), and the lists of all
operations scripts/make_web_corpus.py draws from."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from random import Random
from typing import Any

from web_corpus import fields as f

Doc = Any

# --- upstream bundles ----------------------------------------------------------------------------


def upstream_op(doc: Doc, rng: Random) -> Doc | None:
    ups = doc.get("upstream") if isinstance(doc, dict) else None
    if not ups:
        return None
    kind = rng.randrange(9)
    if kind == 8:
        ups[0]["record"]["key"] = [2**60]
    elif kind == 0:
        ups.reverse()
    elif kind == 1:
        ups.pop(rng.randrange(len(ups)))
    elif kind == 2:
        ups.append(json.loads(json.dumps(ups[0])))
    elif kind == 3:
        return f.record_value(ups[rng.randrange(len(ups))], rng) and doc
    elif kind == 4:
        nested = ups[0]
        for _ in range(9):
            nested = {**json.loads(json.dumps(ups[0])), "upstream": [nested]}
        doc["upstream"] = [nested]
    elif kind == 5:
        ups[0] = f.pick(rng, [{}, [], "x", {"format": "provenance-proof/v2"}])
    elif kind == 6:
        doc["upstream"] = []
    else:
        ups[0]["manifest"]["manifest"]["root"] = f.flip_hex(ups[0]["manifest"]["manifest"]["root"], rng)
    return doc


# --- collections ---------------------------------------------------------------------------------

ROOT_VALUES: list[Any] = [0, 1, 2, 3, 99, -1, None, 1.0]
DEPTH_VALUES: list[Any] = [0, 1, 2, 5, None, "1"]


def collection_op(doc: Doc, rng: Random) -> Doc | None:
    if not isinstance(doc, dict) or "snapshots" not in doc:
        return None
    snaps, recs = doc["snapshots"], doc["records"]
    kind = rng.randrange(13)
    if kind == 11:
        doc["format"] = f.pick(rng, ["provenance-proofs/v2", "provenance-proof/v1", None])
    elif kind == 12:
        doc["records"] = [_broken(r, rng) for r in recs * 9]
    elif kind == 0:
        snaps.reverse()
    elif kind == 1:
        recs[rng.randrange(len(recs))]["snapshot"] = rng.randrange(len(snaps) + 1)
    elif kind == 2:
        recs.pop(rng.randrange(len(recs)))
    elif kind == 3:
        recs.reverse()
    elif kind == 4:
        _set_or_drop(doc, "root", f.pick(rng, ROOT_VALUES))
    elif kind == 5:
        _set_or_drop(doc, "depth", f.pick(rng, DEPTH_VALUES))
    elif kind == 6:
        doc["truncated"] = f.pick(rng, [True, False, 1])
    elif kind == 7:
        snap = f.pick(rng, snaps)
        snap[f.pick(rng, ["version", "dataset"])] = f.pick(rng, [13, 40, "tm/other/daily", 12.0])
    elif kind == 8:
        snaps.pop(rng.randrange(len(snaps)))
    elif kind == 9:
        doc[f.pick(rng, ["records", "snapshots"])] = []
    else:
        recs.append(json.loads(json.dumps(f.pick(rng, recs))))
    return doc


def _broken(record: dict[str, Any], rng: Random) -> dict[str, Any]:
    """A copy of a record whose inclusion path no longer leads to the root."""
    out = json.loads(json.dumps(record))
    path = out["inclusionPath"]
    if path:
        i = rng.randrange(len(path))
        path[i] = f.flip_hex(path[i], rng)
    return out


def _set_or_drop(doc: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        doc.pop(name, None)
    else:
        doc[name] = value


def python_crash_op(doc: Doc, rng: Random) -> Doc | None:
    """Collections on which Python's verify_collection raises instead of reporting."""
    if not isinstance(doc, dict) or "snapshots" not in doc:
        return None
    kind = rng.randrange(5)
    if kind == 0:
        doc["records"][0]["snapshot"] = 0.0
    elif kind == 1:
        doc["root"] = 0.0
    elif kind == 2:
        doc["snapshots"][-1]["manifest"]["manifest"] = f.pick(rng, ["x", None, [], 7])
    elif kind == 3:
        doc["records"][-1]["key"] = [2**60]
    else:
        doc["records"][0]["entry"]["derived_from"][0]["key"] = [2**60]
    return doc


def targeted(name: str, doc: Doc) -> Iterator[tuple[str, Doc]]:
    """Variants made once each, so that rare outcomes are always in the corpus: a format that is
    not the collection's, an upstream key beyond ±(2^53-1), and the collections on which
    Python's verify_collection raises."""
    if "snapshots" in doc:
        yield "other-format", {**doc, "format": "provenance-proofs/v2"}
        for kind in range(5):
            changed = json.loads(json.dumps(doc))
            yield f"python-raises-{kind}", python_crash_op(changed, _Fixed(kind))
    if doc.get("upstream"):
        changed = json.loads(json.dumps(doc))
        changed["upstream"][0]["record"]["key"] = [2**60]
        yield "upstream-key-unsafe", changed


class _Fixed(Random):
    """A Random whose randrange always answers one value (to pick an operation's kind)."""

    def __init__(self, value: int) -> None:
        super().__init__(0)
        self.value = value

    def randrange(self, *_: Any, **__: Any) -> int:  # type: ignore[override]
        return self.value


# --- text ----------------------------------------------------------------------------------------

INTEGER = re.compile(r"(?<=[\s:\[,])-?\d+(?=[\s,\]\}])")
NUMBER = re.compile(r"(?<=[\s:\[,])-?\d+(\.\d+)?([eE][+-]?\d+)?(?=[\s,\]\}])")
HEX_STRING = re.compile(r'"0x[0-9a-fA-F]+"')
WORD = re.compile(r'"[a-z]{3,}')
HUGE_INTEGERS = ["9007199254740993", "18446744073709551616", "1" + "0" * 31, "1" + "0" * 400, "-0"]
ODD_NUMBERS = ["1e400", "-0.0", "1E2", "NaN", "01", "1.", "0.1e-400", "-1e-7"]


def _sub_one(pattern: re.Pattern[str], text: str, rng: Random, fn: Callable[[str], str]) -> str | None:
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    m = f.pick(rng, matches)
    return text[: m.start()] + fn(m.group(0)) + text[m.end() :]


def _duplicate_member(text: str, rng: Random) -> str | None:
    lines = [i for i, line in enumerate(text.split("\n")) if re.match(r'\s*"[^"]+": [^\[{]*,$', line)]
    if not lines:
        return None
    all_lines = text.split("\n")
    i = f.pick(rng, lines)
    return "\n".join([*all_lines[: i + 1], all_lines[i], *all_lines[i + 1 :]])


def _in_string(text: str, rng: Random, insert: str) -> str | None:
    return _sub_one(re.compile(r'"[a-z][a-z/]+"'), text, rng, lambda s: s[:2] + insert + s[2:])


TEXT_EDITS: list[tuple[str, Callable[[str, Random], str | None]]] = [
    ("int-as-float", lambda t, r: _sub_one(INTEGER, t, r, lambda n: n + ".0")),
    ("int-as-exponent", lambda t, r: _sub_one(INTEGER, t, r, lambda n: n + "e0")),
    ("int-huge", lambda t, r: _sub_one(INTEGER, t, r, lambda n: f.pick(r, HUGE_INTEGERS))),
    ("number-odd", lambda t, r: _sub_one(NUMBER, t, r, lambda n: f.pick(r, ODD_NUMBERS))),
    ("duplicate-member", _duplicate_member),
    ("bom", lambda t, r: "\ufeff" + t),
    ("cut", lambda t, r: t[: r.randrange(len(t))]),
    ("trailing", lambda t, r: t + f.pick(r, ["x", ",", "{}", " \n\t"])),
    ("hash-newline", lambda t, r: _sub_one(HEX_STRING, t, r, lambda s: s[:-1] + '\\n"')),
    ("hash-uppercase", lambda t, r: _sub_one(HEX_STRING, t, r, lambda s: '"0x' + s[3:].upper())),
    ("escaped-char", lambda t, r: _sub_one(WORD, t, r, lambda s: f'"\\u{ord(s[1]):04x}' + s[2:])),
    ("compact", lambda t, r: json.dumps(json.loads(t), separators=(",", ":"), ensure_ascii=r.random() < 0.5)),
    ("control-char", lambda t, r: _in_string(t, r, "\t")),
    ("lone-surrogate", lambda t, r: _in_string(t, r, "\\ud800")),
    ("astral", lambda t, r: _in_string(t, r, "\U0001f600")),
    ("surrogate-pair", lambda t, r: _in_string(t, r, "\\ud83d\\ude00")),
]  # fmt: skip


# --- what the corpus draws from ------------------------------------------------------------------

DOC_OPS: list[tuple[str, Callable[[Doc, Random], Doc | None]]] = [
    ("hex-path", f.hex_in("inclusionPath")),
    ("hex-root", f.hex_in("root")),
    ("hex-signature", f.hex_in("signature")),
    ("hex-any", f.any_hex),
    ("number", f.bump_number),
    ("number-odd", f.odd_number),
    ("drop", f.drop_member),
    ("add", f.add_member),
    ("retype", f.retype),
    ("path", f.path_op),
    ("key", f.key_op),
    ("record-value", f.record_value),
    ("entry", f.entry_op),
    ("ref", f.ref_op),
    ("note", f.note_op),
    ("log-key", f.log_key_op),
    ("signature", f.signature_op),
    ("manifest", f.manifest_op),
    ("domain", f.domain_op),
    ("upstream", upstream_op),
    ("collection", collection_op),
    ("python-crash", python_crash_op),
]
TEXT_OPS = TEXT_EDITS
