"""#11 defect 5, second half: ``provenance fsck`` rebuilds every snapshot root from its stored
records, rechecks the signed manifests, the ledger log against its signed checkpoints and the
anchors on the chain, and reports every difference it finds (exit 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from provenance.server.bootstrap import SAMPLE_DATASET, Service
from provenance.server.fsck import fsck
from tests.integration.api.conftest import ADMIN

EXE = Path(sys.executable).parent / "provenance"


def upload(client: TestClient, name: str, rows: int, rules: list[dict[str, object]] | None = None) -> None:
    spec = {"name": name, "key": ["id"], "signingKey": "dev-source", **({"rules": rules} if rules else {})}
    assert client.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    csv = "id,v\n" + "".join(f"k{i},{i}\n" for i in range(rows))
    url = f"/v1/datasets/{name}/versions?format=csv"
    assert client.post(url, content=csv.encode(), headers=ADMIN).status_code == 201


def cli_fsck(service: Service) -> tuple[int, dict[str, object]]:
    env = {**os.environ, "PROVENANCE_DATA_DIR": str(service.settings.data_dir)}
    if service.settings.database_url:
        env["PROVENANCE_DATABASE_URL"] = service.settings.database_url
    done = subprocess.run(
        [str(EXE), "fsck", "--offline", "--json"], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, json.loads(done.stdout)


def test_fsck_finds_every_difference(client: TestClient, service: Service) -> None:
    upload(client, "t/fsck/a", 100)
    upload(client, "t/fsck/b", 10)
    upload(client, "t/fsck/q", 10, [{"column": "v", "minimum": 5, "level": "warn"}])
    for _ in range(3):
        service.worker.step()  # checkpoint and anchor them
    report = fsck(service.ledger.db, service.ledger.log_key(), service.client)
    assert report.clean, report.to_json()
    assert report.snapshots >= 3 and report.checkpoints >= 1 and report.anchors >= 1
    assert cli_fsck(service)[0] == 0

    with service.ledger.db.engine.begin() as c:
        pk = {
            name: c.execute(
                text(
                    "SELECT s.id FROM snapshots s JOIN datasets d ON d.id = s.dataset_pk "
                    "WHERE d.name = :n AND s.version = 1"
                ),
                {"n": name},
            ).scalar_one()
            for name in ("t/fsck/a", "t/fsck/b", "t/fsck/q", SAMPLE_DATASET)
        }
        # a quality report edited to claim fewer failures than the source signed
        report_text = c.execute(
            text("SELECT report FROM quality_reports WHERE snapshot_pk = :p"), {"p": pk["t/fsck/q"]}
        ).scalar_one()
        c.execute(
            text("UPDATE quality_reports SET report = :r WHERE snapshot_pk = :p"),
            {"r": report_text.replace('"failures": 5', '"failures": 0'), "p": pk["t/fsck/q"]},
        )
        # a record changed behind the service's back
        entries = c.execute(
            text("SELECT entries FROM record_blocks WHERE snapshot_pk = :p AND block = 0"),
            {"p": pk["t/fsck/a"]},
        ).scalar_one()
        forged = bytes(entries).replace(b'"id":"k3","v":"3"', b'"id":"k3","v":"4"')
        assert forged != bytes(entries)
        c.execute(
            text("UPDATE record_blocks SET entries = :e WHERE snapshot_pk = :p AND block = 0"),
            {"e": forged, "p": pk["t/fsck/a"]},
        )
        # a signed manifest edited (its signature no longer recovers the stored signer)
        signed = json.loads(
            c.execute(
                text("SELECT signed_manifest FROM snapshots WHERE id = :p"), {"p": pk["t/fsck/b"]}
            ).scalar_one()
        )
        signed["manifest"]["createdAt"] += 1
        c.execute(
            text("UPDATE snapshots SET signed_manifest = :m WHERE id = :p"),
            {"m": json.dumps(signed), "p": pk["t/fsck/b"]},
        )
        # a checkpoint note's signature altered, and an anchor pointed at another block
        cp_id, note = c.execute(text("SELECT id, note FROM checkpoints ORDER BY size LIMIT 1")).one()
        lines = note.split("\n")
        sig = next(i for i, line in enumerate(lines) if line.startswith("\u2014 "))
        lines[sig] = lines[sig][:-6] + ("AAAA==" if not lines[sig].endswith("AAAA==") else "BBBB==")
        c.execute(text("UPDATE checkpoints SET note = :n WHERE id = :i"), {"n": "\n".join(lines), "i": cp_id})
        anchor_id = c.execute(
            text("SELECT id FROM anchors WHERE state IN ('mined', 'confirmed') ORDER BY id LIMIT 1")
        ).scalar_one()
        c.execute(
            text("UPDATE anchors SET block_hash = :h WHERE id = :i"), {"h": b"\x11" * 32, "i": anchor_id}
        )
        # the sample snapshot's log entry replaced by another digest
        index = c.execute(
            text("SELECT log_index FROM snapshots WHERE id = :p"), {"p": pk[SAMPLE_DATASET]}
        ).scalar_one()
        c.execute(
            text("UPDATE log_entries SET digest = :d WHERE " + '"index"' + " = :i"),
            {"d": b"\x22" * 32, "i": index},
        )

    report = fsck(service.ledger.db, service.ledger.log_key(), service.client)
    found = {(d.code, d.where) for d in report.differences}
    assert ("fsck.records-mismatch", "t/fsck/a@1") in found
    assert ("fsck.manifest-mismatch", "t/fsck/b@1") in found
    assert ("fsck.log-mismatch", f"{SAMPLE_DATASET}@1") in found
    assert any(code == "fsck.bad-checkpoint" for code, _ in found)
    assert ("fsck.anchor-mismatch", f"anchor {anchor_id}") in found
    # the altered log no longer gives the signed roots of the checkpoints that cover it
    assert any(code == "fsck.checkpoint-mismatch" for code, _ in found), found
    assert ("fsck.records-mismatch", "t/fsck/b@1") not in found  # b's records are intact
    assert ("fsck.quality-mismatch", "t/fsck/q@1") in found
    served = client.get("/v1/datasets/t/fsck/q/versions/1/quality")
    assert (served.status_code, served.json()["code"]) == (503, "storage.corrupt")  # never served damaged
    code, doc = cli_fsck(service)
    assert code == 1 and doc["clean"] is False
    assert {(d["code"], d["where"]) for d in doc["differences"]} >= found - {
        (c, w)
        for c, w in found
        if c == "fsck.anchor-mismatch"  # --offline: the chain is not read
    }
