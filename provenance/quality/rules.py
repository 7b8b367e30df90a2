"""Data-quality rules: what a dataset's signed schema says its records must satisfy.

A rule is one constraint, on one column or on the whole dataset, with a level: ``error`` (the
snapshot is refused, naming the line and the rule) or ``warn`` (the snapshot is accepted and the
failures are counted in its quality report). The constraint names and meanings are Frictionless
Table Schema's where it has one (``required``, ``unique``, ``minimum``, ``maximum``, ``enum``,
``pattern``; ``type`` as its field types); ``rowCount``, ``freshness`` and ``referential`` are
ours. JSON form, one object per rule::

    {"column": "price_usd", "minimum": 0, "level": "error"}
    {"rowCount": {"min": 1, "max": 5000}, "level": "warn"}

As in Frictionless, every column constraint but ``required`` passes a null or empty value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from provenance.errors import FormatError

LEVELS = ("error", "warn")
VALUE_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")
COLUMN_RULES = ("required", "type", "minimum", "maximum", "enum", "pattern", "unique", "freshness")
DATASET_RULES = ("rowCount", "referential")
MAX_RULES = 64
MAX_ENUM = 1000
MAX_PATTERN = 1000
_SAFE_INT = 2**53 - 1


def _bad(reason: str) -> FormatError:
    return FormatError(f"quality rule: {reason}", code="schema.invalid")


@dataclass(frozen=True)
class Rule:
    kind: str  # one of COLUMN_RULES or DATASET_RULES
    level: str  # error | warn
    column: str | None  # None for a dataset rule
    value: Any  # the constraint's argument, as written in JSON

    @property
    def id(self) -> str:
        """The rule's name in messages and reports: ``price_usd.minimum``, ``rowCount``."""
        return f"{self.column}.{self.kind}" if self.column is not None else self.kind

    def describe(self) -> str:
        if self.kind in ("required", "unique", "referential"):
            return self.kind
        if self.kind == "freshness":
            return f"newest value at most {self.value['maxAge']} s old"
        if self.kind == "rowCount":
            bounds = [f"{k} {v}" for k, v in sorted(self.value.items())]
            return "row count " + " and ".join(bounds)
        return f"{self.kind} {self.value!r}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.kind: self.value, "level": self.level}
        if self.column is not None:
            out["column"] = self.column
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Rule:
        """Parse and check one rule.

        Raises:
            FormatError: ``schema.invalid``, saying what is wrong with it.
        """
        if not isinstance(obj, dict):
            raise _bad("a rule must be an object")
        kinds = [k for k in obj if k not in ("column", "level")]
        if len(kinds) != 1 or kinds[0] not in COLUMN_RULES + DATASET_RULES:
            raise _bad(
                f"a rule has exactly one constraint, one of {', '.join(COLUMN_RULES + DATASET_RULES)}"
                f" (got {', '.join(sorted(kinds)) or 'none'})"
            )
        kind, level, column = kinds[0], obj.get("level", "error"), obj.get("column")
        if level not in LEVELS:
            raise _bad(f"level must be error or warn, not {level!r}")
        if kind in COLUMN_RULES and not (isinstance(column, str) and column):
            raise _bad(f"{kind} needs a column")
        if kind in DATASET_RULES and column is not None:
            raise _bad(f"{kind} is a rule of the dataset and takes no column")
        _check_value(kind, obj[kind])
        if kind == "referential" and level != "error":
            # A ref pins its upstream record's leaf hash: one that resolves nowhere cannot be signed.
            raise _bad("referential can only be an error rule (an unresolved ref cannot be signed)")
        return cls(kind, level, column, obj[kind])


def _check_value(kind: str, value: Any) -> None:
    if kind in ("required", "unique", "referential"):
        if value is not True:
            raise _bad(f"{kind} takes true")
    elif kind == "type":
        if value not in VALUE_TYPES:
            raise _bad(f"type must be one of {', '.join(VALUE_TYPES)}")
    elif kind in ("minimum", "maximum"):
        if not _finite_number(value):
            raise _bad(f"{kind} must be a finite number (an integer within ±(2^53-1))")
    elif kind == "enum":
        _check_enum(value)
    elif kind == "pattern":
        _check_pattern(value)
    elif kind == "freshness":
        if not (isinstance(value, dict) and set(value) == {"maxAge"} and _count(value["maxAge"])):
            raise _bad('freshness must be {"maxAge": seconds}, a whole number')
    else:  # rowCount
        if not (isinstance(value, dict) and value and set(value) <= {"min", "max"}):
            raise _bad('rowCount must be {"min": n, "max": n} (either or both)')
        if not all(_count(v) for v in value.values()):
            raise _bad("rowCount bounds must be whole numbers")
        if value.get("min", 0) > value.get("max", math.inf):
            raise _bad("rowCount min is above its max")


def _finite_number(value: Any) -> bool:
    # Integers only within ±(2^53-1): RFC 8785 has no form for others, and the schema is hashed.
    if type(value) is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    return type(value) is float and math.isfinite(value)


def _count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**53


def _check_enum(value: Any) -> None:
    if not (isinstance(value, list) and 0 < len(value) <= MAX_ENUM):
        raise _bad(f"enum must be a list of 1 to {MAX_ENUM} values")
    for item in value:
        if not (isinstance(item, str | bool) or _finite_number(item)):
            raise _bad("enum values must be strings, numbers or booleans")


def _check_pattern(value: Any) -> None:
    # Whether RE2 compiles it is checked where rules run (provenance.quality.evaluate.check_runnable):
    # the browser verifier has no RE2, and both verifiers must agree on which schemas parse.
    if not (isinstance(value, str) and 0 < len(value) <= MAX_PATTERN):
        raise _bad(f"pattern must be an RE2 regular expression of 1 to {MAX_PATTERN} characters")


def parse_rules(obj: Any, *, derived_from: str | None) -> tuple[Rule, ...]:
    """A schema's ``rules`` list, sorted by id (one normal form) and checked against the schema.

    Raises:
        FormatError: ``schema.invalid``.
    """
    if not (isinstance(obj, list) and 0 < len(obj) <= MAX_RULES):
        raise _bad(f"rules must be a list of 1 to {MAX_RULES} rules")
    rules = sorted((Rule.from_json(r) for r in obj), key=lambda r: r.id)
    return check_rules(rules, derived_from=derived_from)


def check_rules(rules: list[Rule] | tuple[Rule, ...], *, derived_from: str | None) -> tuple[Rule, ...]:
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise _bad(f"a rule repeats: {sorted({i for i in ids if ids.count(i) > 1})[0]}")
    for rule in rules:
        if rule.column is not None and rule.column == derived_from:
            raise _bad(f"{rule.id}: the refs field {derived_from!r} is not a column of the record")
        if rule.kind == "referential" and derived_from is None:
            raise _bad("referential needs a schema with derivedFrom")
    return tuple(sorted(rules, key=lambda r: r.id))
