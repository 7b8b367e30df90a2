"""Lineage formats and record-level refs: parsing, pinning to upstream leaves, and every refusal
named by line and ref."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance import lineage
from provenance.errors import FormatError, InputError
from provenance.ingest import ingest_file
from provenance.merkle import hash_leaf
from provenance.records.canonical import key_text
from provenance.records.schema import Schema
from provenance.upstream import KeyedLeaves
from tests.unit.conftest import ListSink

PRICES = "symbol,date,close\nBTC,2026-11-27,97000\nETH,2026-11-27,3610\nBTC,2026-11-26,95000\n"


@pytest.fixture
def prices(tmp_path: Path) -> KeyedLeaves:
    path = tmp_path / "prices.csv"
    path.write_text(PRICES)
    sink = ListSink()
    ingest_file(path, Schema(("symbol", "date")), sink)
    index = KeyedLeaves.of_entries(sink.keys, sink.entries)
    assert index.leaf_hash(b'["ETH","2026-11-27"]') == hash_leaf(sink.entries[1])
    return index


def ref(
    dataset: str = "tm/prices/daily", version: int = 4, key: list[object] | None = None
) -> dict[str, object]:
    return {"dataset": dataset, "version": version, "key": key or ["BTC", "2026-11-27"]}


def derive(
    tmp_path: Path,
    prices: KeyedLeaves,
    lines: list[dict[str, object]],
    name: str = "r.jsonl",
    workers: int = 1,
) -> ListSink:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    sink = ListSink()
    schema = Schema(("symbol",), {"grade": "number"}, derived_from="_derived_from")
    ingest_file(path, schema, sink, upstream={("tm/prices/daily", 4): prices}, workers=workers)
    return sink


def test_refs_become_the_signed_derived_from_with_pinned_leaves(tmp_path: Path, prices: KeyedLeaves) -> None:
    refs = [ref(key=["BTC", "2026-11-27"]), ref(key=["BTC", "2026-11-26"])]
    sink = derive(
        tmp_path,
        prices,
        [{"symbol": "BTC", "grade": 81.5, "_derived_from": refs}, {"symbol": "ETH", "grade": 60}],
    )
    first = json.loads(sink.entries[0])
    assert first["record"] == {"grade": 81.5, "symbol": "BTC"}  # the refs field is not in the record
    assert [r["key"] for r in first["derived_from"]] == [
        ["BTC", "2026-11-26"],
        ["BTC", "2026-11-27"],
    ]  # sorted
    for r in first["derived_from"]:
        assert r["leaf"] == "0x" + prices.leaf_hash(key_text(r["key"])).hex()  # type: ignore[union-attr]
    assert json.loads(sink.entries[1]) == {
        "record": {"grade": 60, "symbol": "ETH"}
    }  # no refs: no derived_from
    # the entry is its own RFC 8785 form, so its leaf hash is what a verifier recomputes
    from provenance.records.canonical import canonical

    assert canonical(first) == sink.entries[0]


def test_csv_carries_refs_as_json_text_in_the_declared_column(tmp_path: Path, prices: KeyedLeaves) -> None:
    path = tmp_path / "r.csv"
    cell = json.dumps([ref()]).replace('"', '""')
    path.write_text(f'symbol,refs\nBTC,"{cell}"\n')
    sink = ListSink()
    ingest_file(
        path, Schema(("symbol",), derived_from="refs"), sink, upstream={("tm/prices/daily", 4): prices}
    )
    entry = json.loads(sink.entries[0])
    assert entry["record"] == {"symbol": "BTC"} and entry["derived_from"][0]["dataset"] == "tm/prices/daily"


@pytest.mark.parametrize(
    ("refs", "code", "words"),
    [
        ([ref(dataset="tm/other", version=1)], "lineage.not-a-parent", "tm/other@1 is not a parent"),
        ([ref(version=3)], "lineage.not-a-parent", "tm/prices/daily@3 is not a parent"),
        (
            [ref(key=["DOGE", "2026-11-27"])],
            "lineage.unknown-key",
            'key ["DOGE","2026-11-27"]: no such record',
        ),
        ([ref(), ref()], "lineage.duplicate-ref", "given twice"),
        ([ref()] * 65, "lineage.too-many-refs", "65 refs, over the limit of 64"),
        ([{"dataset": "tm/prices/daily", "version": 4}], "lineage.bad-ref", "ref 1 must be exactly"),
        ([{**ref(), "version": 0}], "lineage.bad-ref", "version >= 1"),
        ([{**ref(), "key": []}], "lineage.bad-ref", "non-empty list"),
        ({"not": "a list"}, "lineage.bad-ref", "must be a list"),
    ],
)
def test_bad_refs_are_refused_naming_line_and_ref(
    tmp_path: Path, prices: KeyedLeaves, refs: object, code: str, words: str
) -> None:
    lines: list[dict[str, object]] = [
        {"symbol": "ETH", "grade": 1},
        {"symbol": "BTC", "grade": 2, "_derived_from": refs},
    ]
    with pytest.raises(InputError) as e:
        derive(tmp_path, prices, lines)
    assert (e.value.code, e.value.line, e.value.column) == (code, 2, "_derived_from")
    assert words in e.value.message


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send even a small file to worker processes, where refs are pinned from an index file."""
    monkeypatch.setattr("provenance.ingest.PARALLEL_MIN_BYTES", 0)


def test_worker_processes_pin_the_same_leaves_as_the_parent(
    tmp_path: Path, prices: KeyedLeaves, parallel: None
) -> None:
    lines: list[dict[str, object]] = [
        {"symbol": f"S{i}", "grade": i, "_derived_from": [ref(key=["BTC", "2026-11-27"])]} for i in range(500)
    ]
    in_process = derive(tmp_path, prices, lines, "a.jsonl", workers=1)
    workers = derive(tmp_path, prices, lines, "b.jsonl", workers=2)
    assert workers.entries == in_process.entries and len(workers.entries) == 500
    assert b'"leaf":"0x' + prices.leaf_hash(b'["BTC","2026-11-27"]').hex().encode() in workers.entries[0]  # type: ignore[union-attr]


def test_worker_processes_name_the_line_of_a_bad_ref(
    tmp_path: Path, prices: KeyedLeaves, parallel: None
) -> None:
    lines: list[dict[str, object]] = [{"symbol": f"S{i}", "grade": i} for i in range(300)]
    lines[250]["_derived_from"] = [ref(key=["DOGE", "2026-11-27"])]
    with pytest.raises(InputError) as e:
        derive(tmp_path, prices, lines, workers=2)
    assert (e.value.code, e.value.line, e.value.column) == ("lineage.unknown-key", 251, "_derived_from")


def test_an_upstream_index_survives_its_file(tmp_path: Path, prices: KeyedLeaves) -> None:
    prices.write(tmp_path / "i.idx")
    back = KeyedLeaves.read(tmp_path / "i.idx")
    assert (back.keys, back.leaves, len(back)) == (prices.keys, prices.leaves, 3)
    assert back.leaf_hash(b'["BTC","2026-11-26"]') == prices.leaf_hash(b'["BTC","2026-11-26"]')
    assert back.leaf_hash(b'["BTC"]') is None
    (tmp_path / "bad.idx").write_bytes(b"not an index\n")
    with pytest.raises(ValueError, match="not an upstream index"):
        KeyedLeaves.read(tmp_path / "bad.idx")


def test_shared_indexes_are_gone_after_the_ingest(prices: KeyedLeaves) -> None:
    from provenance import upstream

    for in_process in (True, False):
        with upstream.shared({("tm/prices/daily", 4): prices}, in_process=in_process) as tokens:
            (dataset, version, token), = tokens
            assert upstream.resolve(tokens)[(dataset, version)].leaves == prices.leaves
        if in_process:
            assert token not in upstream._LOADED
        else:
            assert not Path(token).exists()


def test_a_derived_schema_needs_its_parents(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"symbol": "BTC"}\n')
    with pytest.raises(InputError) as e:
        ingest_file(path, Schema(("symbol",), derived_from="_derived_from"), ListSink())
    assert e.value.code == "lineage.no-parents"


def test_schema_without_lineage_keeps_its_json_and_hash() -> None:
    plain = Schema(("id",), {"v": "number"})
    assert "derivedFrom" not in plain.to_json()
    derived = Schema(("id",), {"v": "number"}, derived_from="_derived_from")
    assert Schema.from_json(derived.to_json()) == derived and derived.hash() != plain.hash()


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("tm/prices/daily@41", (("tm/prices/daily", 41),)), ("a@1, b/c@2", (("a", 1), ("b/c", 2)))],
)
def test_parent_names(text: str, parsed: tuple[tuple[str, int], ...]) -> None:
    assert lineage.parse_parent_names(text) == parsed


@pytest.mark.parametrize("text", ["a", "a@0", "a@x", "@1", "A@1", "a@1,a@1"])
def test_bad_parent_names(text: str) -> None:
    with pytest.raises((InputError, FormatError)) as e:
        lineage.parse_parent_names(text)
    assert getattr(e.value, "code", "") in ("input.bad-parent", "manifest.bad-dataset-name")


def test_transform_code_must_pin_the_program(tmp_path: Path) -> None:
    program = tmp_path / "rate.py"
    program.write_bytes(b"print('grades')\n")
    t = lineage.transform_of_file("ratings", program, {"window": 14})
    assert t["code"].startswith("sha256:") and len(t["code"]) == 7 + 64
    assert lineage.check_transform_code({"name": "x", "code": "git:" + "a" * 40, "params": {}})
    for bad in ("v1.2", "git:abc", "sha256:" + "g" * 64):
        with pytest.raises(InputError) as e:
            lineage.check_transform_code({"name": "x", "code": bad, "params": {}})
        assert e.value.code == "lineage.bad-transform-code"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b/c"]),
            st.integers(1, 3),
            st.lists(st.integers(0, 5), min_size=1, max_size=2).map(tuple),
        ),
        min_size=1,
        max_size=10,
        unique=True,
    )
)
def test_refs_are_sorted_and_unique_whatever_the_order(items: list[tuple[str, int, tuple[int, ...]]]) -> None:
    refs = [{"dataset": d, "version": v, "key": list(k)} for d, v, k in items]
    parsed = lineage.parse_raw_refs(list(reversed(refs)))
    order = [(r.dataset, r.version, r.key_text) for r in parsed]
    assert order == sorted(order) and len(set(order)) == len(order) == len(refs)


GRAPH = {"index": ["ratings"], "ratings": ["prices", "onchain"], "prices": [], "onchain": ["raw"], "raw": []}


def test_walk_to_a_depth_and_a_node_limit() -> None:
    one = lineage.walk("index", GRAPH.__getitem__, upstream=True, depth=1, max_nodes=100)
    assert one.nodes == ("index", "ratings") and one.edges == (("index", "ratings"),) and not one.truncated
    full = lineage.walk("index", GRAPH.__getitem__, upstream=True, depth=5, max_nodes=100)
    assert full.nodes == ("index", "ratings", "prices", "onchain", "raw") and not full.truncated
    cut = lineage.walk("index", GRAPH.__getitem__, upstream=True, depth=5, max_nodes=3)
    assert cut.nodes == ("index", "ratings", "prices") and cut.truncated
    assert all(a in cut.nodes and b in cut.nodes for a, b in cut.edges)
    children = {"raw": ["onchain"], "onchain": ["ratings"], "ratings": ["index"], "index": []}
    down = lineage.walk("raw", children.__getitem__, upstream=False, depth=3, max_nodes=100)
    assert down.edges == (("onchain", "raw"), ("ratings", "onchain"), ("index", "ratings"))
