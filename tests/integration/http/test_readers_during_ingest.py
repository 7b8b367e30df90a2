"""#11 concurrency: readers polling a version while it is being ingested see it absent (404) or
whole — its full size, a proof that verifies against the signed root, every record streamed —
and never part of it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from provenance.merkle import MerkleTree
from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle
from tests.integration.http.conftest import ADMIN, Server, base_env

pytestmark = [pytest.mark.http, pytest.mark.slow]
N = 150_000  # a few hundred record blocks, written in several batches


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("readers") / "data", base_env("embedded")).start()
    yield s
    s.stop()


def test_a_reader_never_sees_a_partial_snapshot(server: Server, tmp_path: Path) -> None:
    spec = {"name": "tm/readers", "key": ["k"], "signingKey": "dev-source"}
    assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
    body = ("k,v\n" + "".join(f"key-{i},{i}\n" for i in range(N))).encode()
    done: list[httpx.Response] = []
    upload = threading.Thread(
        target=lambda: done.append(
            server.post("/v1/datasets/tm/readers/versions?format=csv", headers=ADMIN, content=body)
        )
    )
    upload.start()
    seen_absent = seen_whole = 0
    base = "/v1/datasets/tm/readers/versions/1"
    while upload.is_alive() or not seen_whole:
        # three separate requests: each sees the version absent or whole, whatever the others saw
        version = server.get(base)
        listed = server.get("/v1/datasets/tm/readers/versions").json()
        proof = server.get(f"{base}/proof?key=key-{N - 1}")
        assert version.status_code == 404 or version.json()["size"] == N, version.text
        assert [v["size"] for v in listed] in ([], [N]), listed
        assert proof.status_code in (200, 404), proof.text
        if proof.status_code == 200:
            doc = bundle.parse(json.dumps(proof.json()["bundle"]))
            verdict = verify_bundle(doc, policy=Policy(offline=True))
            assert {verdict.check(c).status.value for c in ("leaf", "inclusion", "signature")} == {"valid"}
        if version.status_code == 404:
            seen_absent += 1
        else:
            seen_whole += 1
        if not upload.is_alive() and seen_whole:
            break
    upload.join()
    assert done and done[0].status_code == 201, done[0].text if done else "no answer"
    assert seen_absent >= 3, "the readers never ran during the ingest"
    lines = server.get(f"{base}/records").content.splitlines()
    assert len(lines) == N and MerkleTree.from_leaf_inputs(lines).root.hex() == done[0].json()["root"][2:]
