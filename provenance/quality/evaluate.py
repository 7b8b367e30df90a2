"""Rules over one chunk of records, in the ingest's worker processes, with Arrow compute.

Each rule is one vectorised pass over a column (:mod:`provenance.quality.columns`); patterns
are RE2, whose matching time is linear in the text whatever the pattern (a hostile signed
schema cannot stall an ingest with a backtracking pattern). What needs the whole file is handed
back instead: a ``unique`` column's values with their record indexes, a ``freshness`` column's
newest value; :mod:`provenance.quality.tally` finishes them. An ``error`` rule that fails
raises here, at the first failing record of the chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from provenance.errors import FormatError, InputError
from provenance.quality.columns import Column
from provenance.quality.rules import Rule

FIRST_KEYS = 10  # failing records a report names per rule
_INTEGER = r"-?(0|[1-9][0-9]*)"
_NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
# A calendar date that exists, as a regular expression (Arrow's strptime reads 2026-02-30 as
# 2026-03-02, and checking it by a round trip through strftime cost 20 times the regex):
# 31-day months, 30-day months, February to the 28th, and the 29th of a leap year's February.
_DATE = (
    r"[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    r"|02-(0[1-9]|1[0-9]|2[0-8]))"
    r"|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29"
)
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"


@dataclass(frozen=True)
class ChunkQuality:
    """Per rule (schema order): failures in the chunk and the first few, by chunk index."""

    failures: tuple[int, ...]
    first: tuple[tuple[int, ...], ...]
    unique: tuple[tuple[pa.Array, pa.Array] | None, ...]  # per unique rule: (record indexes, values)
    newest: tuple[tuple[float, str] | None, ...]  # per freshness rule: the newest (epoch, text)


def rule_columns(rules: Sequence[Rule]) -> tuple[str, ...]:
    """The columns the rules read, each once, in first-use order."""
    return tuple(dict.fromkeys(r.column for r in rules if r.column is not None))


def evaluate_chunk(
    rules: Sequence[Rule], columns: dict[str, Column], lines: Sequence[int], source: str
) -> ChunkQuality:
    """Check one chunk; record indexes are counted from its first record.

    Raises:
        InputError: ``quality.rule-failed`` at the first record failing an ``error`` rule.
    """
    failures, first, unique, newest = [], [], [], []
    for rule in rules:
        col = columns[rule.column] if rule.column is not None else None
        bad: list[int] = []
        if col is not None and rule.kind in _CHECKS:
            fails = _fails(rule, col)
            failures.append(pc.sum(fails).as_py() or 0)
            bad = pc.indices_nonzero(fails)[:FIRST_KEYS].to_pylist()
        else:
            failures.append(0)
        first.append(tuple(bad))
        unique.append(_unique_values(col) if col is not None and rule.kind == "unique" else None)
        newest.append(newest_date(col) if col is not None and rule.kind == "freshness" else None)
    _raise_first_error(rules, first, columns, lines, source)
    return ChunkQuality(tuple(failures), tuple(first), tuple(unique), tuple(newest))


def _raise_first_error(
    rules: Sequence[Rule],
    first: list[tuple[int, ...]],
    columns: dict[str, Column],
    lines: Sequence[int],
    source: str,
) -> None:
    errors = [(bad[0], rule) for rule, bad in zip(rules, first, strict=True) if bad and rule.level == "error"]
    if not errors:
        return
    at, rule = min(errors, key=lambda e: (e[0], e[1].id))
    assert rule.column is not None  # only column rules fail per record
    value = columns[rule.column].text[at].as_py()
    shown = (
        "a missing value" if value in (None, "") else repr(value if len(value) <= 80 else value[:77] + "...")
    )
    raise rule_failed(rule, f"{shown} fails it", source, lines[at])


def rule_failed(rule: Rule, what: str, source: str | None, line: int | None) -> InputError:
    return InputError(
        f"rule {rule.id} ({rule.describe()}): {what}",
        code="quality.rule-failed",
        source=source,
        line=line,
        column=rule.column,
    )


# --- per-record rules: a mask of the records that fail -----------------------------------------


def _fails(rule: Rule, col: Column) -> pa.Array:
    present = _present(col)
    if rule.kind == "required":
        return pc.invert(present)
    ok = _CHECKS[rule.kind](col, rule.value)
    return pc.and_(present, pc.invert(pc.fill_null(ok, False)))


def _present(col: Column) -> pa.Array:
    return pc.fill_null(pc.not_equal(col.text, ""), False)


def _kind(col: Column, *kinds: str) -> pa.Array | bool:
    if col.kind is None:  # all text
        return "s" in kinds
    return pc.fill_null(pc.is_in(col.kind, value_set=pa.array(kinds, pa.string())), False)


def _and(a: pa.Array | bool, b: pa.Array) -> pa.Array:
    if isinstance(a, bool):
        return b if a else pc.and_(b, pa.scalar(False))
    return pc.and_(a, b)


def _matches(text: pa.Array, regex: str) -> pa.Array:
    return pc.match_substring_regex(text, f"^(?:{regex})$")


def _type(col: Column, kind: str) -> pa.Array:
    t = col.text
    if kind == "string":
        return _and(_kind(col, "s"), pc.is_valid(t))
    if kind in ("integer", "number"):
        return _and(_kind(col, "s", "n"), _matches(t, _INTEGER if kind == "integer" else _NUMBER))
    if kind == "boolean":
        return _and(_kind(col, "s", "b"), pc.is_in(t, value_set=pa.array(["true", "false"])))
    shape = f"({_DATE})" if kind == "date" else f"({_DATE}){_TIME}"
    return _and(_kind(col, "s"), _matches(t, shape))


def _numbers(col: Column) -> tuple[pa.Array, pa.Array]:
    ok = _type(col, "number")
    return ok, pc.cast(pc.if_else(ok, col.text, "0"), pa.float64())


def _minimum(col: Column, limit: float) -> pa.Array:
    ok, values = _numbers(col)
    return pc.and_(ok, pc.greater_equal(values, float(limit)))


def _maximum(col: Column, limit: float) -> pa.Array:
    ok, values = _numbers(col)
    return pc.and_(ok, pc.less_equal(values, float(limit)))


def _enum(col: Column, items: list[Any]) -> pa.Array:
    # JSON values compare by type: the text "1" is not the number 1, and true is not 1.
    texts = pa.array([i for i in items if type(i) is str], pa.string())
    result = _and(_kind(col, "s"), pc.is_in(col.text, value_set=texts))
    numbers = [float(i) for i in items if type(i) in (int, float)]
    if numbers and col.kind is not None:
        ok, values = _numbers(col)
        is_number = pc.and_(ok, pc.equal(col.kind, "n"))
        result = pc.or_(result, pc.and_(is_number, pc.is_in(values, value_set=pa.array(numbers))))
    bools = ["true" if i else "false" for i in items if type(i) is bool]
    if bools and col.kind is not None:
        result = pc.or_(
            result, pc.and_(pc.equal(col.kind, "b"), pc.is_in(col.text, value_set=pa.array(bools)))
        )
    return result


def _pattern(col: Column, regex: str) -> pa.Array:
    return _and(_kind(col, "s"), _matches(col.text, regex))


_CHECKS: dict[str, Callable[[Column, Any], pa.Array]] = {
    "required": lambda col, _: _present(col),
    "type": _type,
    "minimum": _minimum,
    "maximum": _maximum,
    "enum": _enum,
    "pattern": _pattern,
}


def check_runnable(rules: Sequence[Rule]) -> None:
    """Refuse a pattern RE2 cannot run (RE2 has no backreferences or lookaround). A schema's
    JSON form only bounds a pattern's length, so the Python and browser verifiers agree on
    which schemas parse; this is checked where rules are about to run, and when a dataset is
    created.

    Raises:
        FormatError: ``schema.invalid``.
    """
    for rule in rules:
        if rule.kind == "pattern":
            try:
                _matches(pa.array([""], pa.string()), rule.value)  # an empty array is never compiled
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                reason = str(e).splitlines()[0]
                raise FormatError(
                    f"quality rule {rule.id}: RE2 cannot run the pattern: {reason}", code="schema.invalid"
                ) from None


# --- whole-file rules: what the parent needs from each chunk ----------------------------------


def _unique_values(col: Column) -> tuple[pa.Array, pa.Array]:
    """Indexes and values of the present values; a value's kind is part of it ("1" is not 1)."""
    present = _present(col)
    values = col.text if col.kind is None else pc.binary_join_element_wise(col.kind, col.text, ":")
    indexes = pc.indices_nonzero(present)
    return indexes, pc.array_filter(values, present)


def newest_date(col: Column) -> tuple[float, str] | None:
    """The newest date or RFC 3339 datetime of a column, as (Unix seconds, its text)."""
    dates = pc.array_filter(col.text, _type(col, "date"))
    best: tuple[float, str] | None = None
    if len(dates):
        text = pc.max(dates).as_py()
        best = (datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp(), text)
    stamps = pc.array_filter(col.text, _type(col, "datetime"))
    if len(stamps):
        normal = pc.replace_substring_regex(
            pc.replace_substring_regex(stamps, r"\.[0-9]+", ""), "Z$", "+00:00"
        )
        seconds = pc.cast(pc.strptime(normal, format="%Y-%m-%dT%H:%M:%S%z", unit="s"), pa.int64())
        at = pc.index(seconds, pc.max(seconds)).as_py()
        if best is None or seconds[at].as_py() > best[0]:
            best = (float(seconds[at].as_py()), stamps[at].as_py())
    return best
