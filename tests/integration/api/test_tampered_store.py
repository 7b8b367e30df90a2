"""#11 defect 5: a record changed in the database behind the service's back was served in a 200
bundle that only the verifier rejected. The service checks what it hands out against the signed
root first and answers that the store is corrupt."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from provenance.server.bootstrap import Service
from tests.integration.api.conftest import ADMIN
from tests.integration.api.test_routers import problem


def test_a_record_changed_in_the_store_is_never_served(client: TestClient, service: Service) -> None:
    spec = {"name": "t/tamper/db", "key": ["id"], "signingKey": "dev-source"}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    csv = "id,v\n" + "".join(f"k{i},{i}\n" for i in range(100))  # two record blocks of 64
    up = client.post("/v1/datasets/t/tamper/db/versions?format=csv", content=csv.encode(), headers=ADMIN)
    assert up.status_code == 201
    base = "/v1/datasets/t/tamper/db/versions/1"
    assert client.get(f"{base}/proof", params={"key": "k0"}).status_code == 200
    engine = service.ledger.db.engine
    with engine.begin() as c:
        row = c.execute(
            text(
                "SELECT b.snapshot_pk, b.block, b.entries FROM record_blocks b "
                "JOIN snapshots s ON s.id = b.snapshot_pk JOIN datasets d ON d.id = s.dataset_pk "
                "WHERE d.name = 't/tamper/db'"
            )
        ).first()
        forged = bytes(row.entries).replace(b'"id":"k0","v":"0"', b'"id":"k0","v":"9"')
        assert forged != bytes(row.entries)
        c.execute(
            text("UPDATE record_blocks SET entries = :e WHERE snapshot_pk = :p AND block = :b"),
            {"e": forged, "p": row.snapshot_pk, "b": row.block},
        )
    service.ledger.snapshots._blocks.clear()  # the service's block cache, as after a restart
    body = problem(client.get(f"{base}/proof", params={"key": "k0"}), 503, "storage.corrupt")
    assert "does not verify against the signed root" in body["detail"]
    # k1's path runs through k0's leaf: refused too; a record of the other block is intact
    problem(client.get(f"{base}/proof", params={"key": "k1"}), 503, "storage.corrupt")
    assert client.get(f"{base}/proof", params={"key": "k99"}).status_code == 200
    problem(client.get(f"{base}/records", params={"with_proofs": "true"}), 503, "storage.corrupt")
    problem(client.get(f"{base}/records"), 503, "storage.corrupt")
