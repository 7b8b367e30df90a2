"""Builders of complete, valid objects for tests (deterministic keys, no chain)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provenance.checkpoint import Checkpoint, LogSigner
from provenance.manifest import Domain, Manifest, SignedManifest, sign
from provenance.merkle import MerkleTree
from provenance.proofs import bundle
from provenance.quality.columns import of_values
from provenance.quality.evaluate import evaluate_chunk, rule_columns
from provenance.quality.report import QualityReport
from provenance.quality.rules import parse_rules
from provenance.quality.tally import QualityTally
from provenance.records.canonical import canonical, entry_bytes, key_text, record_salt
from provenance.records.schema import Schema

SOURCE_KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
LOG_SEED = bytes(range(32))
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
ORIGIN = "provenance.example/ledger"
SALT_SECRET = b"salt-secret-for-tests-0123456789"

RATINGS = [
    {"symbol": s, "date": "2026-11-27", "trader_grade": g, "price": p}
    for s, g, p in [
        ("BTC", 82.1, 97312.55),
        ("ETH", 74.3, 3610.2),
        ("SOL", 69.8, 238.71),
        ("BNB", 61.5, 655.02),
        ("XRP", 58.2, 1.41),
        ("ADA", 52.7, 1.02),
        ("AVAX", 57.3, 44.9),
    ]
]

# Rules of a v2 schema over RATINGS: all hold but the warn rule on trader_grade (four are below 60).
QUALITY_RULES: list[dict[str, Any]] = [
    {"column": "symbol", "pattern": "[A-Z]{2,5}"},
    {"column": "price", "minimum": 0},
    {"column": "trader_grade", "maximum": 100},
    {"column": "trader_grade", "minimum": 60, "level": "warn"},
    {"column": "date", "type": "date"},
    {"column": "symbol", "unique": True},
    {"rowCount": {"min": 1, "max": 1000}},
    {"column": "date", "freshness": {"maxAge": 86400}, "level": "warn"},
]


def log_signer() -> LogSigner:
    return LogSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(LOG_SEED))


@dataclass
class Snapshot:
    manifest: Manifest
    signed: SignedManifest
    tree: MerkleTree
    leaves: list[bytes]
    keys: list[list[Any]]


def snapshot(
    records: list[dict[str, Any]] = RATINGS,
    *,
    dataset: str = "tm/ratings/daily",
    version: int = 1,
    salted: bool = False,
    key: tuple[str, ...] = ("symbol",),
    domain: Domain = DOMAIN,
    source_key: bytes = SOURCE_KEY,
    rules: list[dict[str, Any]] | None = None,
) -> Snapshot:
    parsed = parse_rules(rules, derived_from=None) if rules else ()
    schema = Schema(key, {"trader_grade": "number", "price": "number"}, salted, rules=parsed)
    keys = [[r[c] for c in key] for r in records]
    leaves = [
        entry_bytes(canonical(r), record_salt(SALT_SECRET, key_text(k)) if salted else None)
        for r, k in zip(records, keys, strict=True)
    ]
    tree = MerkleTree.from_leaf_inputs(leaves)
    created_at = 1764288000
    report = quality_report(schema, records, keys, created_at) if parsed else None
    manifest = Manifest(
        dataset=dataset,
        version=version,
        root=tree.root,
        size=tree.size,
        schema=schema,
        created_at=created_at,
        quality=report.summary() if report is not None else None,
    )
    return Snapshot(manifest, sign(manifest, domain, source_key), tree, leaves, keys)


def quality_report(
    schema: Schema, records: list[dict[str, Any]], keys: list[list[Any]], as_of: int
) -> QualityReport:
    """The rules over records in memory, as the ingest runs them over one chunk of a file."""
    columns = {c: of_values([r.get(c) for r in records]) for c in rule_columns(schema.rules)}
    tally = QualityTally(schema.rules)
    tally.add(
        0,
        b"".join(key_text(k) + b"\n" for k in keys),
        evaluate_chunk(schema.rules, columns, range(1, len(records) + 1), "records"),
    )
    return tally.finish(
        len(records), as_of, lambda wanted: {i: (key_text(keys[i]), i + 1) for i in wanted}, "records"
    )


def ledger_log(snap: Snapshot, other_log_entries: int = 4) -> tuple[MerkleTree, int]:
    """A ledger log holding the snapshot's manifest digest among other entries, and its index."""
    digest = snap.manifest.digest(snap.signed.domain)
    entries = [bytes([i]) * 32 for i in range(other_log_entries)]
    entries.insert(2 % (other_log_entries + 1), digest)
    return MerkleTree.from_leaf_inputs(entries), entries.index(digest)


def proof_bundle(
    snap: Snapshot,
    index: int = 1,
    *,
    with_log: bool = True,
    other_log_entries: int = 4,
    anchor: bundle.Anchor | None = None,
) -> dict[str, Any]:
    """A bundle for record ``index``; the manifest digest sits among other log entries."""
    log = None
    if with_log:
        log_tree, at = ledger_log(snap, other_log_entries)
        note = log_signer().sign(Checkpoint(ORIGIN, log_tree.size, log_tree.root)).text()
        log = {
            "index": at,
            "treeSize": log_tree.size,
            "inclusionPath": ["0x" + h.hex() for h in log_tree.inclusion_proof(at)],
            "checkpoint": note,
            "logKey": log_signer().verifier_key(),
        }
    return bundle.assemble(
        dataset=snap.manifest.dataset,
        version=snap.manifest.version,
        key=snap.keys[index],
        leaf_input=snap.leaves[index],
        leaf_index=index,
        tree_size=snap.tree.size,
        path=snap.tree.inclusion_proof(index),
        signed_manifest=snap.signed.to_json(),
        log=log,
        anchor=anchor,
    )


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2)


PRICES = [
    {"symbol": s, "date": d, "close": c}
    for s, d, c in [
        ("BTC", "2026-11-26", 95010.0),
        ("BTC", "2026-11-27", 97312.55),
        ("ETH", "2026-11-26", 3550.1),
        ("ETH", "2026-11-27", 3610.2),
    ]
]
TRANSFORM = {"name": "ratings", "code": "git:" + "7" * 40, "params": {"window": 2}}


@dataclass
class Lineage:
    prices: Snapshot
    ratings: Snapshot


def lineage(source_key: bytes = SOURCE_KEY) -> Lineage:
    """A source snapshot of prices and a derived snapshot of ratings whose records cite them."""
    from provenance.lineage import Parent
    from provenance.merkle import hash_leaf

    schema = Schema(("symbol", "date"), {"close": "number"})
    p_keys = [[r["symbol"], r["date"]] for r in PRICES]
    p_leaves = [entry_bytes(canonical(r)) for r in PRICES]
    p_tree = MerkleTree.from_leaf_inputs(p_leaves)
    p_manifest = Manifest("tm/prices/daily", 41, p_tree.root, p_tree.size, schema, 1764288000)
    prices = Snapshot(p_manifest, sign(p_manifest, DOMAIN, source_key), p_tree, p_leaves, p_keys)
    ratings_rows = [{"symbol": "BTC", "grade": 81.0}, {"symbol": "ETH", "grade": 64.5}]
    r_leaves = []
    for row in ratings_rows:
        refs = [
            {"dataset": "tm/prices/daily", "version": 41, "key": k, "leaf": "0x" + hash_leaf(leaf).hex()}
            for k, leaf in zip(p_keys, p_leaves, strict=True)
            if k[0] == row["symbol"]
        ]
        r_leaves.append(entry_bytes(canonical(row), None, refs))
    r_tree = MerkleTree.from_leaf_inputs(r_leaves)
    r_schema = Schema(("symbol",), {"grade": "number"}, derived_from="_derived_from")
    parent = Parent(p_manifest.dataset_id, 41, p_manifest.root, "tm/prices/daily")
    r_manifest = Manifest(
        "tm/ratings/daily", 12, r_tree.root, r_tree.size, r_schema, 1764374400, (parent,), TRANSFORM
    )
    ratings = Snapshot(
        r_manifest,
        sign(r_manifest, DOMAIN, source_key),
        r_tree,
        r_leaves,
        [[r["symbol"]] for r in ratings_rows],
    )
    return Lineage(prices, ratings)


def lineage_collection(line: Lineage | None = None, symbol_index: int = 0) -> dict[str, Any]:
    """The lineage of one rating, depth 1: the rating and the price records it cites."""
    from provenance.proofs import collection

    line = line or lineage()
    rating = proof_bundle(line.ratings, symbol_index)
    symbol = line.ratings.keys[symbol_index][0]
    prices = [proof_bundle(line.prices, i) for i, k in enumerate(line.prices.keys) if k[0] == symbol]
    return collection.of_bundles([rating, *prices], root=0, depth=1)
