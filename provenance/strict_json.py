"""Strict JSON: no duplicate member names, no NaN/Infinity, no number that overflows to infinity,
bounded nesting. One parser for every document we are handed (bundles, manifests, collections)
and for the JSON Lines records of a data file (``records.readers``)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from provenance.errors import FormatError

MAX_DOCUMENT_BYTES = 16 << 20


MAX_INT_DIGITS = 30  # well past uint64 (20 digits); CPython refuses to convert past 4,300


class JSONProblem(ValueError):
    """Why a text is not strict JSON. ``kind``: ``duplicate-key`` (``key`` names it),
    ``non-finite``, ``unsafe-integer`` (``key`` is the member's path), ``malformed`` or
    ``too-deep``."""

    def __init__(self, kind: str, detail: str, key: str | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.key = kind, detail, key


def exact(text: str) -> Any:
    """Parse ``text`` with the standard library, refusing what strict JSON refuses.

    Requires nesting already bounded (orjson accepted the text, or refused it for another
    reason than depth): CPython's json recursion is not bounded and can crash the process.

    Raises:
        JSONProblem: the first problem found.
    """
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_finite,
            parse_constant=_constant,
            parse_int=_int,
        )
    except JSONProblem:
        raise
    except json.JSONDecodeError as e:
        raise JSONProblem("malformed", f"{e.msg} at character {e.colno}") from None
    except RecursionError:
        raise JSONProblem("too-deep", "JSON nested too deeply") from None
    found = _find_long_int(value)
    if found is not None:
        path, digits = found
        raise JSONProblem(
            "unsafe-integer",
            f"an integer of {digits} digits is outside ±(2^53-1); write it as a string",
            key=path,
        )
    return value


class _LongInt(int):
    """A parsed integer too long to convert (its digit count kept to report it)."""

    digits: int


def _int(text: str) -> int:
    # CPython refuses to convert more than 4,300 digits (a ValueError from deep inside json,
    # which answered 500); any integer this long is refused anyway, so keep only its length.
    if len(text.lstrip("-")) <= MAX_INT_DIGITS:
        return int(text)
    marker = _LongInt(0)
    marker.digits = len(text.lstrip("-"))
    return marker


def _find_long_int(value: Any, path: str = "") -> tuple[str, int] | None:
    if isinstance(value, _LongInt):
        return path or "(root)", value.digits
    if isinstance(value, dict):
        steps: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        steps = ((f"{path}[{i}]", v) for i, v in enumerate(value))  # as canonical.py names paths
    else:
        return None
    for where, v in steps:
        found = _find_long_int(v, where)
        if found is not None:
            return found
    return None


def loads(text: str | bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """A JSON document handed to a verifier or the service.

    Raises:
        FormatError: ``bundle.too-large`` over ``max_bytes``; ``bundle.malformed`` otherwise.
    """
    if len(text) > max_bytes:
        raise FormatError(f"document is larger than {max_bytes} bytes", code="bundle.too-large")
    # orjson first: it refuses NaN, lone surrogates and nesting deeper than 1024 levels, which
    # bounds the recursion of the stdlib parser that then looks for duplicate keys (orjson keeps
    # the last of duplicates silently).
    try:
        orjson.loads(text)
        return exact(text if isinstance(text, str) else text.decode())
    except JSONProblem as e:
        raise FormatError(f"not valid JSON: {_describe(e)}", code="bundle.malformed") from None
    except ValueError as e:  # orjson's JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FormatError(f"not valid JSON: {e}", code="bundle.malformed") from None


def _describe(e: JSONProblem) -> str:
    if e.kind == "duplicate-key":
        return f"duplicate key {e.key!r}"
    return f"{e.key}: {e.detail}" if e.kind == "unsafe-integer" else e.detail


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise JSONProblem("duplicate-key", f"duplicate JSON key {k!r}", key=k)
        out[k] = v
    return out


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JSONProblem("non-finite", f"non-finite number {text}")
    return value


def _constant(text: str) -> float:
    raise JSONProblem("non-finite", f"non-finite number {text}")
