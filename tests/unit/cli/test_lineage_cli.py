"""The offline CLI builds derived snapshots: parents from snapshot directories, refs pinned to
their records, the transform computed from the program file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from provenance.cli import app
from provenance.merkle import hash_leaf

PRICES = "symbol,date,close\nBTC,2026-11-27,97000\nBTC,2026-11-26,95000\n"


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"PROVENANCE_KEY_PASSWORD": "test-password-1"})
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result.output


def test_build_a_derived_snapshot_from_a_parent_directory(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text(PRICES)
    invoke(
        "snapshot",
        "build",
        str(tmp_path / "prices.csv"),
        "--dataset",
        "tm/prices/daily",
        "--key",
        "symbol,date",
        "--version",
        "4",
        "--out",
        str(tmp_path / "prices"),
    )
    refs = [{"dataset": "tm/prices/daily", "version": 4, "key": ["BTC", "2026-11-27"]}]
    (tmp_path / "ratings.jsonl").write_text(json.dumps({"symbol": "BTC", "grade": 80, "refs": refs}) + "\n")
    program = tmp_path / "rate.py"
    program.write_text("print('grades')\n")
    invoke(
        "snapshot",
        "build",
        str(tmp_path / "ratings.jsonl"),
        "--dataset",
        "tm/ratings/daily",
        "--key",
        "symbol",
        "--out",
        str(tmp_path / "ratings"),
        "--parent-dir",
        str(tmp_path / "prices"),
        "--derived-from",
        "refs",
        "--transform-file",
        str(program),
        "--transform-name",
        "ratings",
        "--transform-params",
        '{"window": 14}',
    )
    manifest = json.loads((tmp_path / "ratings" / "manifest.json").read_text())
    parent_root = json.loads((tmp_path / "prices" / "manifest.json").read_text())["root"]
    assert [(p["dataset"], p["version"], p["root"]) for p in manifest["parents"]] == [
        ("tm/prices/daily", 4, parent_root)
    ]
    assert manifest["transform"] == {
        "name": "ratings",
        "code": "sha256:" + hashlib.sha256(program.read_bytes()).hexdigest(),
        "params": {"window": 14},
    }
    assert manifest["schema"]["derivedFrom"] == "refs"
    entry = json.loads((tmp_path / "ratings" / "entries.jsonl").read_text().splitlines()[0])
    price_entry = (tmp_path / "prices" / "entries.jsonl").read_bytes().split(b"\n")[0]
    assert entry["derived_from"][0]["leaf"] == "0x" + hash_leaf(price_entry).hex()


def test_a_ref_to_a_missing_parent_record_is_refused_by_line(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text(PRICES)
    invoke(
        "snapshot",
        "build",
        str(tmp_path / "prices.csv"),
        "--dataset",
        "tm/prices/daily",
        "--key",
        "symbol,date",
        "--out",
        str(tmp_path / "prices"),
    )
    refs = [{"dataset": "tm/prices/daily", "version": 1, "key": ["ETH", "2026-11-27"]}]
    (tmp_path / "r.jsonl").write_text(
        '{"symbol": "X"}\n' + json.dumps({"symbol": "ETH", "refs": refs}) + "\n"
    )
    (tmp_path / "t.json").write_text(json.dumps({"name": "x", "code": "git:" + "0" * 40, "params": {}}))
    out = invoke(
        "snapshot",
        "build",
        str(tmp_path / "r.jsonl"),
        "--dataset",
        "tm/ratings/daily",
        "--key",
        "symbol",
        "--out",
        str(tmp_path / "r"),
        "--parent-dir",
        str(tmp_path / "prices"),
        "--derived-from",
        "refs",
        "--transform",
        str(tmp_path / "t.json"),
        code=2,
    )
    assert "error [lineage.unknown-key]" in out and "line 2, column refs" in out
    assert not (tmp_path / "r").exists()  # no partial snapshot
