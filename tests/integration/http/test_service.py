"""The ledger over HTTP against a real server process: ingest → anchor → proof → verify."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from provenance.merkle import verify_consistency
from tests.integration.http.conftest import ADMIN, Server, proof_when_anchored

EXE = Path(sys.executable).parent / "provenance"
CSV_V1 = "symbol,price\nBTC,97000.5\nETH,3600.25\nSOL,238.75\n"
CSV_V2 = CSV_V1 + "BNB,655.5\nXRP,1.25\n"


def test_sample_dataset_is_anchored_and_verifies(server: Server) -> None:
    body = proof_when_anchored(server, "examples/token-ratings", 1, "BTC,2026-11-27")
    bundle = body["bundle"]
    assert bundle["record"]["entry"]["record"]["symbol"] == "BTC"
    assert bundle["anchor"]["mode"] == "checkpoint"
    assert isinstance(bundle["anchor"]["checkpointIndex"], int)  # its CheckpointAnchored log's index
    verdict = server.post("/v1/verify", content=json.dumps(bundle)).json()
    assert verdict["status"] == "valid", verdict
    # tampering is caught by the server's verifier too, and the request is kept
    bundle["record"]["entry"]["record"]["price_usd"] = 1.0
    verdict = server.post("/v1/verify", content=json.dumps(bundle)).json()
    assert verdict["status"] == "invalid"
    assert {c["check"] for c in verdict["checks"] if c["status"] == "invalid"} == {"inclusion"}
    assert verdict["requestId"] > 1


def test_the_start_up_message_gives_working_commands(server: Server, tmp_path: Path) -> None:
    """What `serve` prints for a first user: the curl for a proof and, with a chain another
    process can reach, the auditor's own check of it against that chain."""
    assert server.log is not None
    printed = server.log.read_text().splitlines()
    curl = [line.removeprefix("try:").strip() for line in printed if line.startswith("try:")]
    assert len(curl) == 1 and "/proof?key=BTC,2026-11-27" in curl[0]
    proof_when_anchored(server, "examples/token-ratings", 1, "BTC,2026-11-27")
    env = {**os.environ, "PATH": f"{EXE.parent}{os.pathsep}{os.environ['PATH']}"}
    shown = subprocess.run(["bash", "-c", curl[0]], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert shown.returncode == 0 and '"bundle"' in shown.stdout
    console = [line.split()[2] for line in printed if line.startswith("audit console:")]
    assert console == [f"{server.url}/audit"] and server.get("/audit").status_code == 200
    verify = [line for line in printed if line.startswith("verify it yourself")]
    if server.env["PROVENANCE_CHAIN_BACKEND"] == "embedded":
        assert verify == []  # an in-process chain is not reachable by anyone else
        return
    command = verify[0].split(":  ", 1)[1]
    checked = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "verdict: valid" in checked.stdout


def test_ingest_idempotency_conflicts_and_consistency(server: Server) -> None:
    r = server.post(
        "/v1/datasets",
        headers=ADMIN,
        json={
            "name": "tm/prices",
            "key": ["symbol"],
            "columns": {"price": "number"},
            "signingKey": "dev-source",
        },
    )
    assert r.status_code == 201, r.text
    r = server.post("/v1/datasets/tm/prices/versions?format=csv", headers=ADMIN, content=CSV_V1)
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["size"]) == (1, 3)
    again = server.post("/v1/datasets/tm/prices/versions?format=csv&version=1", headers=ADMIN, content=CSV_V1)
    assert (again.status_code, again.json()["root"]) == (200, r.json()["root"])
    other = server.post(
        "/v1/datasets/tm/prices/versions?format=csv&version=1",
        headers=ADMIN,
        content=CSV_V1.replace("97000.5", "1"),
    )
    assert other.status_code == 409
    assert other.json()["code"] == "snapshot.conflict"
    gap = server.post("/v1/datasets/tm/prices/versions?format=csv&version=5", headers=ADMIN, content=CSV_V2)
    assert gap.status_code == 409
    v2 = server.post(
        "/v1/datasets/tm/prices/versions", headers={**ADMIN, "Content-Type": "text/csv"}, content=CSV_V2
    )
    assert v2.status_code == 201, v2.text
    c = server.get("/v1/datasets/tm/prices/consistency?from=1&to=2").json()
    verify_consistency(
        c["from"]["size"],
        c["to"]["size"],
        bytes.fromhex(c["from"]["root"][2:]),
        bytes.fromhex(c["to"]["root"][2:]),
        [bytes.fromhex(h[2:]) for h in c["proof"]],
    )
    versions = server.get("/v1/datasets/tm/prices/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    body = proof_when_anchored(server, "tm/prices", 2, "XRP")
    assert server.post("/v1/verify", content=json.dumps(body["bundle"])).json()["status"] == "valid"


def test_log_consistency_links_older_checkpoints_to_the_latest(server: Server) -> None:
    """The registry keeps only the latest checkpoint; this proof is what links an older one to it."""
    server.post(
        "/v1/datasets", headers=ADMIN, json={"name": "tm/log", "key": ["symbol"], "signingKey": "dev-source"}
    )
    for csv in (CSV_V1, CSV_V2):
        r = server.post("/v1/datasets/tm/log/versions?format=csv", headers=ADMIN, content=csv)
        assert r.status_code == 201, r.text
        # each version lands in its own checkpoint (the test server checkpoints every 0.3 s)
        size = r.json()["logIndex"] + 1
        server.wait_for("/v1/checkpoints?limit=1", lambda cps, n=size: cps and cps[0]["size"] >= n)
    cps = server.get("/v1/checkpoints").json()
    old, new = min(cps, key=lambda c: c["size"]), max(cps, key=lambda c: c["size"])
    assert old["size"] < new["size"]
    c = server.get(f"/v1/log/consistency?from={old['size']}&to={new['size']}").json()
    assert (c["from"]["root"], c["to"]["root"]) == (old["root"], new["root"])
    verify_consistency(
        old["size"],
        new["size"],
        bytes.fromhex(old["root"][2:]),
        bytes.fromhex(new["root"][2:]),
        [bytes.fromhex(h[2:]) for h in c["proof"]],
    )
    same = server.get(f"/v1/log/consistency?from={new['size']}&to={new['size']}").json()
    assert same["proof"] == []
    latest = server.get("/v1/checkpoints/latest").json()["size"]
    for query, code in [
        ("from=0&to=1", "input.bad-range"),
        (f"from={new['size']}&to={old['size']}", "input.bad-range"),
        (f"from=1&to={latest + 1}", "input.bad-range"),
        ("from=1", "request.invalid"),
        ("from=x&to=1", "request.invalid"),
        (f"from=1&to={2**70}", "input.bad-range"),
    ]:
        r = server.get(f"/v1/log/consistency?{query}")
        assert (r.status_code, r.json()["code"]) == (422, code), (query, r.text)
    r = server.get(f"/v1/log/consistency?from=1&to={latest + 1}")
    assert r.json()["detail"] == f"log size {latest + 1} is beyond the latest checkpoint (size {latest})"


def test_bad_requests_get_clear_errors_and_damage_nothing(server: Server) -> None:
    server.post(
        "/v1/datasets", headers=ADMIN, json={"name": "tm/bad", "key": ["symbol"], "signingKey": "dev-source"}
    )
    ok = server.post("/v1/datasets/tm/bad/versions?format=csv", headers=ADMIN, content=CSV_V1)
    assert ok.status_code == 201
    cases = [
        ("symbol,price\nA,1\nB,2\nA,3\n", 422, "input.duplicate-key", 4),
        ("symbol,price\nA,1\nB,2,3\n", 422, "input.ragged-row", 3),
        ("name,price\nA,1\n", 422, "input.missing-key-column", 1),
        (b"symbol,price\nA,\xff\n", 422, "input.invalid-utf8", 2),
    ]
    for content, status, code, line in cases:
        r = server.post("/v1/datasets/tm/bad/versions?format=csv", headers=ADMIN, content=content)
        assert r.status_code == status, r.text
        problem = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (problem["code"], problem["line"]) == (code, line)
        assert "Traceback" not in r.text
    assert [v["version"] for v in server.get("/v1/datasets/tm/bad/versions").json()] == [1]  # nothing partial
    jsonl = '{"symbol": "A", "x": 1, "x": 2}\n'
    r = server.post("/v1/datasets/tm/bad/versions?format=jsonl", headers=ADMIN, content=jsonl)
    assert (r.status_code, r.json()["code"], r.json()["column"]) == (422, "input.duplicate-json-key", "x")
    # auth, unknown things, malformed bodies
    assert server.post("/v1/datasets/tm/bad/versions?format=csv", content=CSV_V2).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (
        server.post("/v1/datasets/tm/bad/versions?format=csv", headers=wrong, content=CSV_V2).status_code
        == 403
    )
    assert server.get("/v1/datasets/tm/nope/versions/1/proof?key=A").status_code == 404
    assert server.get("/v1/datasets/tm/bad/versions/1/proof?key=NOPE").json()["code"] == "record.not-found"
    assert server.post("/v1/verify", content=b"{not json").json()["code"] == "bundle.malformed"
    assert server.post("/v1/verify", content=b"[]").status_code == 422
    huge = server.post("/v1/verify", content=b" " * (16 * 2**20 + 10))
    assert huge.status_code == 413
    r = server.post("/v1/datasets", headers=ADMIN, json={"name": "Bad Name", "key": ["a"]})
    assert (r.status_code, r.json()["code"]) == (422, "manifest.bad-dataset-name")
    r = server.post("/v1/datasets", headers=ADMIN, json={"name": "x", "key": []})
    assert (r.status_code, r.json()["code"]) == (422, "request.invalid")
    assert server.get("/healthz").json() == {"status": "ok"}
    metrics = server.get("/metrics").text
    assert "provenance_http_requests_total" in metrics
    assert "provenance_proofs_total" in metrics


def test_source_signed_upload(server: Server, tmp_path: Path) -> None:
    """A source signs its manifest itself (the CLI); the server checks data and signature."""
    env = {"PROVENANCE_DATA_DIR": str(tmp_path / "cli"), "PROVENANCE_KEY_PASSWORD": "cli-password-1"}
    deployment = server.get("/v1/deployment").json()

    def run(*args: str) -> str:
        proc = subprocess.run(
            [str(EXE), *args], env={**os.environ, **env}, capture_output=True, text=True, check=True
        )
        return proc.stdout

    address = run("keys", "new", "--name", "src").split()[3]
    assert (
        server.post("/v1/sources", headers=ADMIN, json={"address": address, "name": "src"}).status_code == 201
    )
    r = server.post(
        "/v1/datasets",
        headers=ADMIN,
        json={"name": "tm/signed", "key": ["symbol"], "columns": {"price": "number"}},
    )
    assert r.status_code == 201
    data = tmp_path / "prices.csv"
    data.write_text(CSV_V1)
    snap = tmp_path / "snap"
    run(
        "snapshot",
        "build",
        str(data),
        "--dataset",
        "tm/signed",
        "--key",
        "symbol",
        "--types",
        "price=number",
        "--out",
        str(snap),
    )
    run(
        "snapshot",
        "sign",
        str(snap),
        "--source-key",
        str(tmp_path / "cli" / "keys" / "src.json"),
        "--chain-id",
        str(deployment["chainId"]),
        "--registry",
        deployment["address"],
    )
    manifest = (snap / "signed-manifest.json").read_text()
    files = {"file": ("prices.csv", CSV_V1.encode(), "text/csv"), "manifest": (None, manifest)}
    r = server.post("/v1/datasets/tm/signed/versions", files=files)  # no admin token: the signature suffices
    assert r.status_code == 201, r.text
    assert r.json()["signer"] == address
    # the same manifest with other data is refused
    r = server.post(
        "/v1/datasets/tm/signed/versions?format=csv&version=1",
        headers={"Provenance-Manifest": base64.b64encode(manifest.encode()).decode()},
        content=CSV_V2,
    )
    assert r.status_code in (409, 422), r.text
    tampered = json.loads(manifest)
    tampered["manifest"]["size"] = 4
    files = {"file": ("prices.csv", CSV_V2.encode(), "text/csv"), "manifest": (None, json.dumps(tampered))}
    r = server.post("/v1/datasets/tm/signed/versions", files=files)
    assert r.status_code == 422, r.text
    assert r.json()["code"].startswith(("signature.", "manifest."))


def test_a_derived_upload_and_its_lineage_from_the_cli(server: Server) -> None:
    for spec in (
        {"name": "tm/lin/prices", "key": ["symbol"], "signingKey": "dev-source"},
        {
            "name": "tm/lin/ratings",
            "key": ["symbol"],
            "derivedFrom": "_derived_from",
            "signingKey": "dev-source",
        },
    ):
        assert server.post("/v1/datasets", headers=ADMIN, json=spec).status_code == 201
    assert (
        server.post(
            "/v1/datasets/tm/lin/prices/versions?format=csv", headers=ADMIN, content=CSV_V1
        ).status_code
        == 201
    )
    ref = {"dataset": "tm/lin/prices", "version": 1, "key": ["BTC"]}
    transform = {"name": "ratings", "code": "git:" + "2" * 40, "params": {}}
    r = server.post(
        "/v1/datasets/tm/lin/ratings/versions?parents=tm/lin/prices@1",
        headers={
            **ADMIN,
            "Content-Type": "application/x-ndjson",
            "Provenance-Transform": base64.b64encode(json.dumps(transform).encode()).decode(),
        },
        content=json.dumps({"symbol": "BTC", "grade": 70, "_derived_from": [ref]}) + "\n",
    )
    assert r.status_code == 201, r.text
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    cmd = [str(EXE), "lineage", "tm/lin/ratings", "1", "--api", server.url]
    graph = json.loads(
        subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, check=True).stdout
    )
    assert [n["id"] for n in graph["nodes"]] == ["tm/lin/ratings@1", "tm/lin/prices@1"]
    text = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert "tm/lin/ratings@1" in text and "tm/lin/prices@1" in text and "(ratings)" in text
    down = subprocess.run(
        [str(EXE), "lineage", "tm/lin/prices", "1", "--api", server.url, "--direction", "down", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert [n["id"] for n in json.loads(down)["nodes"]] == ["tm/lin/prices@1", "tm/lin/ratings@1"]
    missing = subprocess.run(
        [*cmd[:2], "tm/lin/nope", "1", "--api", server.url], capture_output=True, text=True, env=env
    )
    assert (
        missing.returncode == 2 and "error [dataset.not-found]" in missing.stderr
    ) or "not-found" in missing.stderr


def test_the_demo_pipeline_publishes_and_its_lineage_verifies(server: Server, tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    out = tmp_path / "lineage.json"
    cmd = [sys.executable, str(root / "scripts" / "demo_pipeline.py"), "--api", server.url, "--out", str(out)]
    cmd += ["--admin-token", ADMIN["Authorization"].removeprefix("Bearer "), "--days", "30"]
    rpc = None
    if server.env["PROVENANCE_CHAIN_BACKEND"] == "anvil":
        rpc = f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"
        cmd += ["--rpc-url", rpc]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    where = "against the chain" if rpc else "offline"
    assert f"verified here ({where}): valid" in run.stdout, run.stdout
    print(run.stdout.splitlines()[-1])  # the demo's own time, for the record
    published = [line for line in run.stdout.splitlines() if "records verify" in line]
    assert len(published) == 2 and all("(valid)" in line for line in published), run.stdout
    table = (tmp_path / "published" / "tm_ratings_daily.jsonl").read_text().splitlines()
    assert json.loads(table[0])["audit"].startswith(
        f"{server.url}/audit?dataset=tm%2Fratings%2Fdaily&version="
    )
    doc = json.loads(out.read_text())
    datasets = {s["dataset"] for s in doc["snapshots"]}
    assert datasets == {"tm/index/weekly", "tm/ratings/daily", "tm/prices/daily", "tm/onchain/daily"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    verify = [str(EXE), "verify", str(out), *(["--rpc-url", rpc] if rpc else ["--offline"])]
    again = subprocess.run(verify, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "verdict: valid" in again.stdout


def test_one_schema_normal_form_for_http_and_cli(server: Server, tmp_path: Path) -> None:
    """#11 defect 6: a dataset created over HTTP with explicit string columns refused a manifest
    that `snapshot build --types id=string --types v=number` signed (the CLI kept only the last
    --types, and an explicit "string" hashed differently from the default)."""
    env = {
        **os.environ,
        "PROVENANCE_DATA_DIR": str(tmp_path / "cli"),
        "PROVENANCE_KEY_PASSWORD": "cli-password-1",
    }

    def run(*args: str) -> str:
        return subprocess.run([str(EXE), *args], env=env, capture_output=True, text=True, check=True).stdout

    deployment = server.get("/v1/deployment").json()
    address = run("keys", "new", "--name", "nf").split()[3]
    assert (
        server.post("/v1/sources", headers=ADMIN, json={"address": address, "name": "nf"}).status_code == 201
    )
    spec = {"name": "tm/normal-form", "key": ["id"], "columns": {"id": "string", "v": "number"}}
    created = server.post("/v1/datasets", headers=ADMIN, json=spec)
    assert created.status_code == 201 and created.json()["schema"]["columns"] == {"v": "number"}
    data = tmp_path / "d.csv"
    data.write_text("id,v\na,1.5\nb,2\n")
    snap = tmp_path / "snap"
    run("snapshot", "build", str(data), "--dataset", "tm/normal-form", "--key", "id",
        "--types", "id=string", "--types", "v=number", "--out", str(snap))  # fmt: skip
    key = str(tmp_path / "cli" / "keys" / "nf.json")
    run("snapshot", "sign", str(snap), "--source-key", key, "--chain-id", str(deployment["chainId"]),
        "--registry", deployment["address"])  # fmt: skip
    manifest = (snap / "signed-manifest.json").read_text()
    assert json.loads(manifest)["manifest"]["schema"]["columns"] == {"v": "number"}
    files = {"file": ("d.csv", data.read_bytes(), "text/csv"), "manifest": (None, manifest)}
    r = server.post("/v1/datasets/tm/normal-form/versions", files=files)
    assert r.status_code == 201, r.text
