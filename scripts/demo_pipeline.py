#!/usr/bin/env python3
"""The publishers' pipeline against a running ledger: prices and on-chain metrics → ratings →
a weekly index, every step a dataset version with parents and transform, every rating and weight
citing the records it used; then one index weight's lineage, fetched, verified down to the price
records, printed as a tree and written to a file for anyone to verify again.

    make run                                  # in one terminal
    make demo-pipeline                        # in another (or: .venv/bin/python scripts/demo_pipeline.py)
    .venv/bin/provenance verify lineage.json --rpc-url <the chain RPC serve printed>

Deterministic from --seed; each run adds one version of each dataset.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provenance.config import DEV_ADMIN_TOKEN
from provenance.examples import pipeline as p
from provenance.lineage import transform_of_file
from provenance.proofs import collection
from provenance.proofs.collection_stream import verify_stream
from provenance.proofs.collection_verify import verify_collection
from provenance.proofs.verify import Policy
from provenance.records.canonical import key_text

SCHEMAS = {
    p.PRICES: {"key": ["symbol", "date"], "columns": {"close": "number", "volume_usd": "number"}},
    p.ONCHAIN: {
        "key": ["symbol", "date"],
        "columns": {"active_addresses": "integer", "transfer_usd": "number"},
    },
    p.RATINGS: {
        "key": ["symbol", "date"],
        "columns": {"trader_grade": "number", "investor_grade": "number", "volatility": "number"},
        "derivedFrom": "_derived_from",
    },
    p.INDEX: {
        "key": ["rebalance", "symbol"],
        "columns": {"weight": "number"},
        "derivedFrom": "_derived_from",
    },
}


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.auth = url.rstrip("/"), {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        req = urllib.request.Request(
            self.url + path, data=body, method=method, headers={**self.auth, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            problem = json.loads(e.read() or b"{}")
            raise SystemExit(
                f"{method} {path}: {e.code} [{problem.get('code')}] {problem.get('detail')}"
            ) from None
        except urllib.error.URLError as e:
            raise SystemExit(
                f"cannot reach the ledger at {self.url} ({e.reason}); start it with `make run`"
            ) from None

    def upload(
        self,
        name: str,
        rows: list[dict[str, Any]],
        parents: str = "",
        transform: dict[str, Any] | None = None,
    ) -> int:
        headers = {"Content-Type": "application/x-ndjson"}
        if transform is not None:
            headers["Provenance-Transform"] = base64.b64encode(json.dumps(transform).encode()).decode()
        query = f"?parents={parents}" if parents else ""
        body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()
        version = int(self.call("POST", f"/v1/datasets/{name}/versions{query}", body, headers)["version"])
        print(f"  {name} v{version}: {len(rows):,} records" + (f", parents {parents}" if parents else ""))
        return version


def publish(api: Api, seed: int, days: int) -> tuple[dict[str, int], dict[str, Any]]:
    for name, schema in SCHEMAS.items():
        api.call(
            "POST",
            "/v1/datasets",
            json.dumps({"name": name, "signingKey": "dev-source", **schema}).encode(),
            {"Content-Type": "application/json"},
        )
    prices, onchain = p.market(seed, date(2026, 8, 30), days)
    program = Path(p.__file__)
    v = {p.PRICES: api.upload(p.PRICES, prices), p.ONCHAIN: api.upload(p.ONCHAIN, onchain)}
    rated = p.ratings(prices, onchain, v)
    rating_t = transform_of_file("token-ratings", program, {"window": p.WINDOW, "seed": seed})
    v[p.RATINGS] = api.upload(
        p.RATINGS, rated, f"{p.PRICES}@{v[p.PRICES]},{p.ONCHAIN}@{v[p.ONCHAIN]}", rating_t
    )
    index_t = transform_of_file("top-n-inverse-vol", program, {"top": p.TOP_N, "sectorCap": p.SECTOR_CAP})
    weights = p.index(rated, v[p.RATINGS])
    v[p.INDEX] = api.upload(p.INDEX, weights, f"{p.RATINGS}@{v[p.RATINGS]}", index_t)
    return v, weights[-1]


def wait_for_anchor(api: Api, version: int, key: str, timeout: float = 90.0) -> None:
    """Until the weight's snapshot is in an anchored checkpoint (the worker cuts one every few s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api.call("GET", f"/v1/datasets/{p.INDEX}/versions/{version}/proof?key={key}")["anchor"][
            "state"
        ]
        if state in ("mined", "confirmed"):
            return
        time.sleep(0.5)
    raise SystemExit(f"{p.INDEX}@{version} was not anchored within {timeout:.0f} s")


def publish_with_proofs(api: Api, versions: dict[str, int], out: Path, chain: Any) -> list[str]:
    """The ratings and the index as a publisher hands them out: every record with its proof (a
    JSON Lines provenance-proofs/v1 collection), and a table whose rows link to their own check
    in the audit console. Each collection is verified here, as a reader would."""
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in (p.RATINGS, p.INDEX):
        version = versions[name]
        with urllib.request.urlopen(
            f"{api.url}/v1/datasets/{name}/versions/{version}/records?with_proofs=true"
        ) as r:
            body = r.read()
        stem = name.replace("/", "_")
        (out / f"{stem}.proofs.jsonl").write_bytes(body)
        records = [json.loads(x) for x in body.splitlines()[1:]]
        key_text_of = [",".join(str(v) for v in rec["key"]) for rec in records]
        table = [
            {**rec["entry"]["record"], "audit": f"{api.url}/audit?" + urllib.parse.urlencode(
                {"dataset": name, "version": version, "key": k})}
            for rec, k in zip(records, key_text_of, strict=True)
        ]  # fmt: skip
        (out / f"{stem}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in table))
        verdict = verify_stream(body.splitlines(), policy=Policy(offline=chain is None), chain=chain)
        counts = f"{verdict.records_valid}/{verdict.records} records verify ({verdict.status})"
        lines.append(f"  {name}@{version}: {counts}; {out / stem}.proofs.jsonl, links in {out / stem}.jsonl")
    return lines


def print_tree(doc: dict[str, Any]) -> None:
    parsed = collection.from_json(doc)
    label = {}
    for i, r in enumerate(parsed.records):
        snap = parsed.snapshots[r["snapshot"]]
        label[(snap["dataset"], snap["version"], key_text(r["key"]))] = i

    def show(i: int, depth: int) -> None:
        r = parsed.records[i]
        snap = parsed.snapshots[r["snapshot"]]
        values = {k: v for k, v in r["entry"]["record"].items() if k not in ("symbol", "date", "rebalance")}
        print("  " * depth + f"{snap['dataset']}@{snap['version']} {r['key']}  {json.dumps(values)}")
        for ref in r["entry"].get("derived_from", []):
            j = label.get((ref["dataset"], ref["version"], key_text(ref["key"])))
            if j is not None:
                show(j, depth + 1)

    show(parsed.root or 0, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", default=os.environ.get("PROVENANCE_API", "http://127.0.0.1:8000"))
    ap.add_argument("--admin-token", default=os.environ.get("PROVENANCE_ADMIN_TOKEN", DEV_ADMIN_TOKEN))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--out", type=Path, default=Path("lineage.json"))
    ap.add_argument("--rpc-url", help="the chain's JSON-RPC: wait for the anchors, then verify against it")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    api = Api(args.api, args.admin_token)
    print(f"publishing {len(p.tokens())} tokens x {args.days} days to {args.api}")
    versions, weight = publish(api, args.seed, args.days)
    key = f"{weight['rebalance']},{weight['symbol']}"
    path = f"/v1/datasets/{p.INDEX}/versions/{versions[p.INDEX]}/lineage/records?key={key}&depth=2"
    chain = None
    if args.rpc_url:
        from provenance.chain.verifier import verifier_for

        chain = verifier_for(args.rpc_url)
        wait_for_anchor(api, versions[p.INDEX], key)
    doc = api.call("GET", path)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    verdict = verify_collection(collection.from_json(doc), policy=Policy(offline=chain is None), chain=chain)
    print(f"\nlineage of {p.INDEX}@{versions[p.INDEX]} weight {weight['symbol']} on {weight['rebalance']}:")
    print_tree(doc)
    where = "against the chain" if chain else "offline"
    print(
        f"\nverified here ({where}): {verdict.status} ({verdict.records_valid}/{verdict.records} records, "
        f"{verdict.edges_valid}/{verdict.edges} lineage edges); written to {args.out}"
    )
    print(f"check it against the chain: provenance verify {args.out} --rpc-url <the chain RPC serve printed>")
    print("\npublished with a proof on every record:")
    for line in publish_with_proofs(api, versions, args.out.parent / "published", chain):
        print(line)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if verdict.status == "valid" else 1


if __name__ == "__main__":
    raise SystemExit(main())
