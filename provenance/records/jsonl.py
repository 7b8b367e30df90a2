"""JSON Lines: one record per line, parsed with orjson and, where orjson cannot tell (duplicate
keys, the exact reason of a refusal), again with the strict parser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from provenance import strict_json
from provenance.errors import InputError
from provenance.records.canonical import CanonicalError, canonical
from provenance.records.chunks import Chunk, Context, decode_text
from provenance.records.schema import CellError, check_value

_ABSENT = object()


def jsonl_records(chunk: Chunk, ctx: Context) -> Iterator[tuple[int, dict[str, Any], bytes | None]]:
    columns = ctx.schema.columns
    for offset, raw in enumerate(chunk.data.split(b"\n")):
        line = chunk.first_line + offset
        raw = raw.removesuffix(b"\r")
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise _json_error(raw, ctx.source, line, str(e)) from None
        if not isinstance(record, dict):
            raise InputError(
                f"a record must be a JSON object, not {_json_kind(record)}",
                code="input.not-an-object",
                source=ctx.source,
                line=line,
            )
        for name, kind in columns.items():
            if name in record:
                try:
                    check_value(record[name], kind)
                except CellError as e:
                    raise InputError(
                        e.reason, code=e.code, source=ctx.source, line=line, column=name
                    ) from None
        # The refs field is not part of the record (it becomes the entry's derived_from): hash the
        # record without it, then hand it back in the dict for process_chunk to take.
        refs = record.pop(ctx.schema.derived_from, _ABSENT) if ctx.schema.derived_from else _ABSENT
        try:
            rec_bytes = canonical(record)
        except RecursionError:
            raise InputError(
                "record nested too deeply", code="input.too-deep", source=ctx.source, line=line
            ) from None
        except CanonicalError as e:
            raise InputError(
                e.reason, code=e.code, source=ctx.source, line=line, column=e.path or None
            ) from None
        # orjson keeps the last of duplicate keys silently. Every object member has exactly one
        # ':' outside strings, and neither orjson nor RFC 8785 escapes ':' inside strings, so
        # without \u escapes the raw line has as many ':' as the canonical form iff no member
        # was dropped. Lines with \u escapes, or a mismatch, take the exact (slow) check.
        expected = rec_bytes.count(b":")
        if refs is not _ABSENT:  # the refs member: its own ':' and those inside it
            expected += 1 + orjson.dumps(refs).count(b":")
        if b"\\u" in raw or raw.count(b":") != expected:
            _exact_duplicate_check(raw, ctx.source, line)
        if refs is not _ABSENT:
            record[ctx.schema.derived_from] = refs
        yield line, record, rec_bytes


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number or null")


def _exact_duplicate_check(raw: bytes, source: str, line: int) -> None:
    try:
        strict_json.exact(decode_text(raw, source, line))
    except strict_json.JSONProblem as e:
        if e.kind == "duplicate-key":
            raise _problem_error(e, source, line) from None
        raise


_PROBLEM_CODES = {
    "duplicate-key": "input.duplicate-json-key",
    "non-finite": "input.non-finite-number",
    "malformed": "input.malformed",
    "too-deep": "input.too-deep",
    "unsafe-integer": "input.unsafe-integer",
}


def _problem_error(e: strict_json.JSONProblem, source: str, line: int) -> InputError:
    detail = e.detail if e.kind != "malformed" else f"malformed JSON: {e.detail}"
    return InputError(detail, code=_PROBLEM_CODES[e.kind], source=source, line=line, column=e.key)


def _json_error(raw: bytes, source: str, line: int, message: str) -> InputError:
    """Why orjson refused a line, found again with the exact (slow) parser."""
    if "depth limit" in message or "recursion" in message:
        # Never hand such a line to CPython's json: its C recursion is unbounded.
        return InputError("JSON nested too deeply", code="input.too-deep", source=source, line=line)
    try:
        strict_json.exact(decode_text(raw, source, line))
    except InputError as e:
        return e
    except strict_json.JSONProblem as e:
        return _problem_error(e, source, line)
    return InputError(
        "malformed JSON (lone surrogate or unsupported escape)",
        code="input.malformed",
        source=source,
        line=line,
    )
