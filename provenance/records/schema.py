"""The dataset schema: which columns form the record key, optional column types, salting."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import rfc8785

from provenance.errors import FormatError, InputError
from provenance.quality.rules import Rule, check_rules, parse_rules

SCHEMA_FORMAT = "provenance-schema/v1"
# v2 adds data-quality rules (provenance/quality/); a schema without rules stays v1, byte for byte.
SCHEMA_FORMAT_V2 = "provenance-schema/v2"
COLUMN_TYPES = ("string", "integer", "number", "boolean", "json")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_SAFE_INT = 2**53 - 1


@dataclass(frozen=True)
class Schema:
    """How records of a dataset are keyed and typed. Its RFC 8785 hash is in every manifest."""

    key: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    salted: bool = False
    # The field (JSON Lines) or column (CSV, Parquet) that carries each record's upstream refs;
    # it is taken out of the record and becomes the entry's signed "derived_from".
    derived_from: str | None = None
    rules: tuple[Rule, ...] = ()  # sorted by id

    def __post_init__(self) -> None:
        if not self.key:
            raise FormatError("a schema needs at least one key column", code="schema.invalid")
        if len(set(self.key)) != len(self.key):
            raise FormatError("key columns repeat", code="schema.invalid")
        for name, kind in self.columns.items():
            if kind not in COLUMN_TYPES:
                raise FormatError(
                    f"column {name!r} has unknown type {kind!r} (one of {', '.join(COLUMN_TYPES)})",
                    code="schema.invalid",
                )
        if self.derived_from is not None and (
            not self.derived_from or self.derived_from in self.key or self.derived_from in self.columns
        ):
            raise FormatError(
                f"derivedFrom {self.derived_from!r} must name a field that is not a key or typed column",
                code="schema.invalid",
            )
        for col in self.key:
            if self.columns.get(col) == "json":
                raise FormatError(f"key column {col!r} cannot be of type json", code="schema.invalid")
        object.__setattr__(self, "rules", check_rules(self.rules, derived_from=self.derived_from))

    @property
    def format(self) -> str:
        return SCHEMA_FORMAT_V2 if self.rules else SCHEMA_FORMAT

    def normal(self) -> Schema:
        """The one normal form: "string" is every column's default type, so it is not written
        (an HTTP-created schema with {"id": "string"} and the CLI's without it hashed apart).
        Applied where schemas are made; parsing keeps what was signed, so old manifests verify."""
        columns = {c: t for c, t in self.columns.items() if t != "string"}
        return Schema(self.key, columns, self.salted, self.derived_from, self.rules)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": self.format,
            "key": list(self.key),
            "columns": dict(sorted(self.columns.items())),
            "salted": self.salted,
        }
        if self.derived_from is not None:  # absent otherwise: schemas without lineage keep their hash
            out["derivedFrom"] = self.derived_from
        if self.rules:
            out["rules"] = [r.to_json() for r in self.rules]
        return out

    def hash(self) -> bytes:
        """``SHA-256(RFC8785(schema))``, the manifest's ``schemaHash``."""
        return hashlib.sha256(rfc8785.dumps(self.to_json())).digest()

    @classmethod
    def from_json(cls, obj: Any) -> Schema:
        """Parse the JSON form; refuses unknown formats and fields.

        Raises:
            FormatError: the object is not a valid schema.
        """
        if not isinstance(obj, dict) or obj.get("format") not in (SCHEMA_FORMAT, SCHEMA_FORMAT_V2):
            raise FormatError(
                f"schema must be an object with format {SCHEMA_FORMAT!r} "
                f"(or {SCHEMA_FORMAT_V2!r}, with rules)",
                code="schema.invalid",
            )
        v2 = obj["format"] == SCHEMA_FORMAT_V2
        if v2 != ("rules" in obj):
            raise FormatError(f"{SCHEMA_FORMAT_V2} schemas, and only they, have rules", code="schema.invalid")
        extra = set(obj) - {"format", "key", "columns", "salted", "derivedFrom", "rules"}
        if extra:
            raise FormatError(f"unknown schema fields: {', '.join(sorted(extra))}", code="schema.invalid")
        key, columns, salted = obj.get("key"), obj.get("columns", {}), obj.get("salted", False)
        if not (isinstance(key, list) and all(isinstance(k, str) for k in key)):
            raise FormatError("schema key must be a list of column names", code="schema.invalid")
        if not (isinstance(columns, dict) and all(isinstance(v, str) for v in columns.values())):
            raise FormatError("schema columns must map names to type names", code="schema.invalid")
        if not isinstance(salted, bool):
            raise FormatError("schema salted must be true or false", code="schema.invalid")
        derived = obj.get("derivedFrom")
        if derived is not None and not isinstance(derived, str):
            raise FormatError("schema derivedFrom must be a field name", code="schema.invalid")
        rules = parse_rules(obj["rules"], derived_from=derived) if v2 else ()
        return cls(tuple(key), dict(columns), salted, derived, rules)


class CellError(ValueError):
    """A cell cannot be converted to its column's type."""

    def __init__(self, reason: str, code: str = "input.bad-value") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def convert_cell(text: str, kind: str) -> Any:
    """A CSV cell as the JSON value its column type says; an empty typed cell is null."""
    if kind == "string":
        return text
    if text == "":
        return None
    if kind == "integer":
        if not _INTEGER.fullmatch(text):
            raise CellError(f"{text!r} is not an integer")
        value = int(text)
        if not -_SAFE_INT <= value <= _SAFE_INT:
            raise CellError(f"integer {text} is outside ±(2^53-1)", "input.unsafe-integer")
        return value
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise CellError(f"{text!r} is not a number") from None
        if not math.isfinite(number):
            raise CellError(f"non-finite number {text!r}", "input.non-finite-number")
        return number
    if kind == "boolean":
        if text in ("true", "false"):
            return text == "true"
        raise CellError(f"{text!r} is not true or false")
    try:  # json
        return orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise CellError(f"not JSON: {e}") from None


def check_value(value: Any, kind: str) -> None:
    """Refuse a JSON value that does not have its column's declared type (null passes)."""
    if value is None or kind == "json":
        return
    ok = {
        "string": isinstance(value, str),
        "integer": type(value) is int,
        "number": type(value) in (int, float),
        "boolean": type(value) is bool,
    }[kind]
    if not ok:
        raise CellError(f"{type(value).__name__} value where the schema says {kind}")


def parse_key(text: str, schema: Schema) -> list[Any]:
    """``VALUE[,VALUE...]`` typed by the schema, or a JSON array for values with commas."""
    if text.startswith("["):
        try:
            values = json.loads(text)
        except ValueError as e:
            raise InputError(f"--key is not a JSON array: {e}", code="input.bad-key") from None
        if not isinstance(values, list):
            raise InputError("--key JSON must be an array", code="input.bad-key")
    else:
        raw = text.split(",")
        try:
            values = [
                convert_cell(v, schema.columns.get(c, "string"))
                for v, c in zip(raw, schema.key, strict=False)
            ]
        except CellError as e:
            raise InputError(f"--key: {e.reason}", code="input.bad-key") from None
    if len(values) != len(schema.key):
        raise InputError(
            f"--key needs {len(schema.key)} value(s) for {', '.join(schema.key)}, got {len(values)}",
            code="input.bad-key",
        )
    return values


def check_key_columns(columns: tuple[str, ...], schema: Schema, source: str) -> None:
    for col in schema.key:
        if col not in columns:
            raise InputError(
                f"key column {col!r} is missing (columns: {', '.join(columns)})",
                code="input.missing-key-column",
                source=source,
                line=1,
                column=col,
            )
