"""The fast canonical encoder is byte-identical to the rfc8785 reference on its domain."""

from __future__ import annotations

import json
import math

import orjson
import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from provenance.records.canonical import (
    SAFE_INT,
    CanonicalError,
    canonical,
    entry_bytes,
    fast_domain,
    key_text,
    record_salt,
)

fast_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda x: 1e-5 <= abs(x) < 1e15 and not x.is_integer()
)
any_text = st.text(st.characters(codec="utf-8"))  # any code point UTF-8 can carry
scalars = st.one_of(st.none(), st.booleans(), st.integers(-SAFE_INT, SAFE_INT), fast_floats, any_text)
ascii_keys = st.text(st.characters(codec="ascii"), max_size=12)
fast_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ascii_keys, inner, max_size=5),
    max_leaves=25,
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-SAFE_INT, SAFE_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        any_text,
    ),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=2000, deadline=None)
@given(fast_values)
def test_fast_path_equals_reference_on_its_domain(value: object) -> None:
    assert fast_domain(value)
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(value)


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(ascii_keys, any_text, max_size=12))
def test_flat_string_records_equal_reference(record: dict[str, str]) -> None:
    """The CSV hot loop's assumption: ASCII keys and string values need no check."""
    assert orjson.dumps(record, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(record)


def _unprovable(value: object) -> bool:
    """Integral floats in (2^53-1, 1e21): RFC 8785 writes them as integers beyond 2^53."""
    if isinstance(value, float):
        return value.is_integer() and 2**53 - 1 < abs(value) < 1e21
    if isinstance(value, dict):
        return any(_unprovable(v) for v in value.values())
    if isinstance(value, list):
        return any(_unprovable(v) for v in value)
    return False


@settings(max_examples=1000, deadline=None)
@given(json_values)
def test_canonical_equals_reference_everywhere(value: object) -> None:
    if _unprovable(value):
        with pytest.raises(CanonicalError) as e:
            canonical(value)
        assert e.value.code == "input.unsafe-integer"
    else:
        assert canonical(value) == rfc8785.dumps(value)


@settings(max_examples=1000, deadline=None)
@given(json_values)
def test_whatever_canonical_accepts_reads_back_to_the_same_bytes(value: object) -> None:
    # A proof carries the entry as JSON; the verifier parses it and canonicalises again. 1e16 was
    # accepted and read back as the unsafe integer 10000000000000000: a proof that never held.
    try:
        first = canonical(value)
    except CanonicalError:
        return
    assert canonical(json.loads(first)) == first


@pytest.mark.parametrize("value", [1e16, 2.0**53, -9.1e20, [1, {"x": 2.5e18}]])
def test_integral_floats_beyond_2_53_are_refused(value: object) -> None:
    with pytest.raises(CanonicalError) as e:
        canonical(value)
    assert e.value.code == "input.unsafe-integer"


@pytest.mark.parametrize(
    "value",
    [1.0, -0.0, 1e15, 1e21, 1e-6, 5e-324, 2.0**53 - 1, {"é": 1}, {"\ue000": 1, "\U0001f600": 2}],
)
def test_values_outside_the_fast_domain_go_to_the_reference(value: object) -> None:
    assert not fast_domain(value)
    assert canonical(value) == rfc8785.dumps(value)


def test_known_answers() -> None:
    # RFC 8785 §3.2.2 number examples and key ordering by UTF-16 code units.
    assert canonical([1e21, 1e-7, 333333333.3333333, 1.0, -0.0]) == b"[1e+21,1e-7,333333333.3333333,1,0]"
    assert canonical({"\U0001f600": 2, "\ue000": 1}) == '{"\U0001f600":2,"\ue000":1}'.encode()
    assert canonical({"b": "\u2028\x1f\n", "a": None}) == b'{"a":null,"b":"\xe2\x80\xa8\\u001f\\n"}'


@pytest.mark.parametrize(
    ("value", "code", "path"),
    [
        ({"p": math.nan}, "input.non-finite-number", "p"),
        ({"p": [1, math.inf]}, "input.non-finite-number", "p[1]"),
        ({"n": 2**53}, "input.unsafe-integer", "n"),
        ({"s": "\ud800"}, "input.invalid-utf8", "s"),
    ],
)
def test_values_without_a_canonical_form(value: object, code: str, path: str) -> None:
    with pytest.raises(CanonicalError) as err:
        canonical(value)
    assert err.value.code == code
    assert err.value.path == path


@settings(max_examples=300, deadline=None)
@given(fast_values, st.binary(min_size=32, max_size=32) | st.none())
def test_entry_bytes_equal_rfc8785_of_the_entry(record: object, salt: bytes | None) -> None:
    assume(isinstance(record, dict))
    entry: dict[str, object] = {"record": record}
    if salt is not None:
        entry["salt"] = salt.hex()
    assert entry_bytes(canonical(record), salt) == rfc8785.dumps(entry)


def test_entry_with_lineage_refs() -> None:
    refs = [{"dataset": "tm/prices", "version": 3, "key": ["BTC"]}]
    got = entry_bytes(canonical({"x": 1}), b"\x01" * 32, refs)
    assert got == rfc8785.dumps({"record": {"x": 1}, "salt": "01" * 32, "derived_from": refs})


def test_key_text_and_salt() -> None:
    assert key_text(["BTC", 1]) == b'["BTC",1]'
    assert record_salt(b"k" * 32, b'["BTC"]') != record_salt(b"k" * 32, b'["ETH"]')
    assert len(record_salt(b"k" * 32, b'["BTC"]')) == 32


def test_nesting_is_bounded_on_both_paths() -> None:
    from provenance.records.canonical import MAX_DEPTH

    deep: object = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    for value in ({"a": deep}, {"a": 1.0, "b": deep}):  # fast path, and the reference path
        with pytest.raises(CanonicalError) as err:
            canonical(value)
        assert err.value.code == "input.too-deep"
    ok: object = 1
    for _ in range(MAX_DEPTH - 1):
        ok = [ok]
    assert canonical({"a": ok}) == rfc8785.dumps({"a": ok})


def plain_fast_domain(value: object, depth: int = 0) -> bool:
    """The fast domain as the module docstring defines it, written plainly (the spec)."""
    from provenance.records.canonical import MAX_DEPTH

    if depth > MAX_DEPTH:
        raise CanonicalError("too deep", "input.too-deep")
    if type(value) in (str, bool) or value is None:
        return True
    if type(value) is int:
        return -SAFE_INT <= value <= SAFE_INT  # type: ignore[operator]
    if type(value) is float:
        return 1e-5 <= abs(value) < 1e15 and not value.is_integer()  # type: ignore[arg-type, attr-defined]
    if type(value) is dict:
        items = value.items()
        return all(type(k) is str and k.isascii() and plain_fast_domain(v, depth + 1) for k, v in items)
    if type(value) is list:
        return all(plain_fast_domain(v, depth + 1) for v in value)
    return False


tricky = st.one_of(
    st.floats(),
    st.integers(),
    st.binary(max_size=2),
    st.tuples(st.integers()),
    st.sampled_from([1e-5, 1e15, 1e-6, 2.0**53, SAFE_INT, SAFE_INT + 1, -SAFE_INT - 1, True, None]),
)


@settings(max_examples=500, deadline=None)
@given(
    st.recursive(
        tricky | any_text,
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(any_text | st.integers(0, 3), inner, max_size=4),
        max_leaves=20,
    )
)
def test_fast_domain_is_its_plain_definition(value: object) -> None:
    assert fast_domain(value) == plain_fast_domain(value)


@pytest.mark.parametrize("levels", [63, 64, 65, 66])
@pytest.mark.parametrize("leaf", [1, [], {}, 1.0])
def test_fast_domain_bounds_nesting_as_its_plain_definition(levels: int, leaf: object) -> None:
    deep = leaf
    for i in range(levels):
        deep = [deep] if i % 2 else {"k": deep}
    try:
        expected: object = plain_fast_domain(deep)
    except CanonicalError as e:
        expected = e.code
    try:
        got: object = fast_domain(deep)
    except CanonicalError as e:
        got = e.code
    assert got == expected
