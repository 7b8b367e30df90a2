"""Canonical bytes of records and entries: RFC 8785, the JSON Canonicalization Scheme (docs/ARCHITECTURE.md).

``rfc8785`` is the reference encoder. It runs at ~30-50 k records/s, so records whose every
value is in a domain where ``orjson`` with sorted keys is known to produce the same bytes take
a fast path: strings (any Unicode orjson accepts), booleans, null, integers within ±(2^53-1),
non-integral floats with 1e-5 <= |x| < 1e15 (where ECMAScript's and orjson's shortest
round-trip formats coincide), and objects whose keys are ASCII (so UTF-16 and UTF-8 key
orders agree). Everything else goes to ``rfc8785``. ``tests/unit/records/test_canonical.py``
proves byte equality on the fast domain with hypothesis.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
import rfc8785

SAFE_INT = 2**53 - 1
# Real records nest a few levels; a bound keeps recursion (ours and rfc8785's) far from
# Python's stack limit whatever a hostile file holds.
MAX_DEPTH = 64
_SORT = orjson.OPT_SORT_KEYS


class CanonicalError(ValueError):
    """A value has no RFC 8785 form; ``reason`` says why, ``path`` where (e.g. ``price``)."""

    def __init__(self, reason: str, code: str, path: str = "") -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.code = code
        self.path = path


def fast_domain(value: Any, depth: int = 0) -> bool:
    """True when ``orjson`` with sorted keys gives the RFC 8785 bytes of ``value``.

    Every record of an ingest and every entry of a verified collection passes through here, so
    scalars are judged inline, a container's keys in one ``join`` (C), and only containers
    recurse: a third of the per-record cost of ``provenance verify`` on a large collection was
    this walk written as generators (``tests/unit/records/test_canonical.py`` holds it to the
    plain definition).

    Raises:
        CanonicalError: nesting deeper than ``MAX_DEPTH``.
    """
    t = type(value)
    if t is dict:
        try:
            if not "".join(value).isascii():
                return False
        except TypeError:  # a key that is not a string
            return False
        items: Any = value.values()
    elif t is list:
        items = value
    else:
        items = (value,)
        depth -= 1  # the value itself is the item at ``depth``
    if depth >= MAX_DEPTH and len(items):
        raise CanonicalError(f"nested deeper than {MAX_DEPTH} levels", "input.too-deep")
    for v in items:
        tv = type(v)
        if tv is str or tv is bool or v is None:
            continue
        if tv is int:
            if -SAFE_INT <= v <= SAFE_INT:
                continue
            return False
        if tv is float:
            if 1e-5 <= abs(v) < 1e15 and not v.is_integer():
                continue
            return False
        if (tv is dict or tv is list) and fast_domain(v, depth + 1):
            continue
        return False
    return True


def canonical(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value.

    Raises:
        CanonicalError: non-finite or out-of-range numbers, non-string keys, lone surrogates.
    """
    if fast_domain(value):
        try:
            return orjson.dumps(value, option=_SORT)
        except orjson.JSONEncodeError:
            pass  # e.g. a lone surrogate: let the reference encoder name the problem
    return _reference(value)


def _check_depth(value: Any) -> None:
    """Refuse nesting beyond ``MAX_DEPTH`` without recursing (the reference encoder recurses)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CanonicalError(f"nested deeper than {MAX_DEPTH} levels", "input.too-deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _reference(value: Any) -> bytes:
    _check_depth(value)
    # RFC 8785 writes 1e16 as 10000000000000000 (exponents only from 1e21), which reads back as an
    # integer beyond 2^53 that canonical() refuses: such a record was accepted and its proof
    # could never verify.
    path, bad = _find(value, lambda v: type(v) is float and v.is_integer() and SAFE_INT < abs(v) < 1e21)
    if path or bad is not None:
        raise CanonicalError(
            f"number {bad!r} is integral beyond ±(2^53-1) (its RFC 8785 form is such an integer); "
            "write it as a string",
            "input.unsafe-integer",
            path,
        )
    try:
        return rfc8785.dumps(value)
    except rfc8785.FloatDomainError:
        path, bad = _find(value, lambda v: type(v) is float and not math.isfinite(v))
        raise CanonicalError(f"non-finite number {bad!r}", "input.non-finite-number", path) from None
    except rfc8785.IntegerDomainError:
        path, bad = _find(value, lambda v: type(v) is int and not -SAFE_INT <= v <= SAFE_INT)
        raise CanonicalError(
            f"integer {bad} is outside ±(2^53-1); write it as a string",
            "input.unsafe-integer",
            path,
        ) from None
    except rfc8785.CanonicalizationError as e:
        if "UTF-8" in str(e):
            path, _ = _find(value, lambda v: type(v) is str and not _encodable(v))
            raise CanonicalError("invalid Unicode (lone surrogate)", "input.invalid-utf8", path) from None
        raise CanonicalError(str(e), "input.not-json") from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            yield sub, k
            yield from _walk(v, sub)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


def _find(value: Any, bad: Callable[[Any], bool]) -> tuple[str, Any]:
    """Path and value of the first item (keys included) for which ``bad`` holds."""
    return next(((p, v) for p, v in _walk(value) if bad(v)), ("", None))


def entry_bytes(
    record_bytes: bytes,
    salt: bytes | None = None,
    derived_from: Sequence[Any] | None = None,
    *,
    derived_bytes: bytes | None = None,
) -> bytes:
    """Leaf input: RFC 8785 of ``{"derived_from"?, "record", "salt"?}`` (keys in that order).

    ``record_bytes`` must already be canonical. Building the entry by concatenation is exact
    because the entry's keys are fixed ASCII and RFC 8785 sorts them as written here.
    """
    parts = [b"{"]
    if derived_bytes is None and derived_from is not None:
        derived_bytes = canonical(list(derived_from))
    if derived_bytes is not None:  # already canonical (lineage.pin_refs)
        parts += [b'"derived_from":', derived_bytes, b","]
    parts += [b'"record":', record_bytes]
    if salt is not None:
        parts += [b',"salt":"', salt.hex().encode(), b'"']
    parts.append(b"}")
    return b"".join(parts)


def key_text(values: Sequence[Any]) -> bytes:
    """Text form of a record key: RFC 8785 of the list of key values."""
    items = values if type(values) is list else list(values)
    try:
        "".join(items)  # most keys are strings, which are always in the fast domain; join (C)
    except TypeError:  # says so faster than a generator over the values
        return canonical(items)
    try:
        return orjson.dumps(items)
    except orjson.JSONEncodeError:
        return canonical(items)  # a lone surrogate: the reference encoder names it


def record_salt(secret: bytes, key: bytes) -> bytes:
    """Per-record salt: HMAC-SHA256(dataset salt secret, key text).

    Deriving it from the key (not drawing it at random) keeps re-ingest idempotent and keeps
    an unchanged record's leaf unchanged across versions, so append-only datasets still get
    consistency proofs between versions.
    """
    return hmac.new(secret, key, hashlib.sha256).digest()
