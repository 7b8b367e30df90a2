"""#11 load: a bounded load on a real multi-process deployment loses nothing.

The deployment is the production layout on one machine: PostgreSQL, three API processes on one
port, one leader-locked anchoring worker, a real anvil (``provenance serve --workers 3`` with
``PROVENANCE_DATABASE_URL``; scripts/deployment.py starts the same for people). Against it, for a
bounded time, readers fetch proofs of random records while uploaders post new versions of their
datasets. Afterwards: no 5xx, every upload accepted exactly as sent, every version's proofs verify
offline against its signed root, every version anchored, and ``provenance fsck`` clean.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle
from tests.integration.http.conftest import ADMIN, Server, base_env, fsck_report, proof_when_anchored

pytestmark = [pytest.mark.chain, pytest.mark.http, pytest.mark.postgres, pytest.mark.slow]
UPLOADERS, VERSIONS, READERS, ROWS = 2, 8, 8, 20_000


def rows(uploader: int, version: int) -> bytes:
    return ("k,v\n" + "".join(f"r{i},{uploader}-{version}-{i}\n" for i in range(ROWS))).encode()


def test_bounded_load_on_postgres_with_three_api_processes(tmp_path: Path, postgres_url: str) -> None:
    env = {**base_env("anvil"), "PROVENANCE_DATABASE_URL": postgres_url}
    server = Server(tmp_path / "data", env, args=("--workers", "3")).start()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    try:
        names = [f"tm/load/{u}" for u in range(UPLOADERS)]
        for name in names:
            spec = {"name": name, "key": ["k"], "signingKey": "dev-source"}
            assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201

        def upload(u: int) -> None:
            with httpx.Client(base_url=server.url, timeout=120) as c:
                for v in range(1, VERSIONS + 1):
                    r = c.post(
                        f"/v1/datasets/{names[u]}/versions?format=csv&version={v}",
                        headers=ADMIN,
                        content=rows(u, v),
                    )
                    with lock:
                        statuses[r.status_code] += 1
                    assert r.status_code == 201, r.text

        def read(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=server.url, timeout=60) as c:
                while not stop.is_set():
                    r = c.get("/v1/datasets/examples/token-ratings/versions/1/proof?key=ETH,2026-11-27")
                    name = names[rng.randrange(UPLOADERS)]
                    r2 = c.get(f"/v1/datasets/{name}/versions/1/proof?key=r{rng.randrange(ROWS)}")
                    with lock:
                        statuses[r.status_code] += 1
                        statuses[r2.status_code] += 1

        uploaders = [threading.Thread(target=upload, args=(u,)) for u in range(UPLOADERS)]
        readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(READERS)]
        started = time.monotonic()
        for t in (*uploaders, *readers):
            t.start()
        for t in uploaders:
            t.join(300)
        stop.set()
        for t in readers:
            t.join(60)
        elapsed = time.monotonic() - started
        print(f"load: {sum(statuses.values())} requests in {elapsed:.1f} s, statuses {dict(statuses)}")
        assert not [s for s in statuses if s >= 500], statuses
        assert statuses[201] == UPLOADERS * VERSIONS

        for u, name in enumerate(names):
            for v in range(1, VERSIONS + 1):
                doc = proof_when_anchored(server, name, v, f"r{(u + v) % ROWS}")["bundle"]
                assert doc["record"]["entry"]["record"]["v"] == f"{u}-{v}-{(u + v) % ROWS}"
                verdict = verify_bundle(bundle.parse(json.dumps(doc)), policy=Policy(offline=True))
                assert verdict.status == "valid", verdict.to_json()
        fsck_report(server, "--rpc-url", f"http://127.0.0.1:{env['PROVENANCE_ANVIL_PORT']}")
    finally:
        stop.set()
        server.stop()
