"""`provenance verify --rpc-url` reads the chain over plain JSON-RPC: a whole process verifies an
anchored bundle against a node (canned answers of the differential corpus, served over HTTP)
without importing web3, whose import alone costs more than the verification."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from make_web_corpus import anchored

from tests.unit.chain.test_jsonrpc import QuietServer

SCENARIOS = {name: (doc, answers) for name, doc, answers, _ in anchored()}
HEAVY = ("web3", "eth_abi", "eth_account", "requests")


@pytest.fixture
def node() -> Iterator[tuple[str, dict[str, Any]]]:
    """A JSON-RPC node answering from a scenario's table (set ``answers`` before use)."""
    answers: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            params = req["params"]
            key = f"eth_call:{params[0]['data'][:10]}" if req["method"] == "eth_call" else req["method"]
            body = json.dumps(
                {"jsonrpc": "2.0", "id": req["id"], **answers.get(key, {"error": {"code": -32601}})}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()
    server.server_close()


def verify_in_a_process(path: Path, url: str) -> tuple[int, dict[str, Any], list[str]]:
    code = (
        "import json, sys\n"
        "from provenance.cli import main\n"
        f"sys.argv = ['provenance', 'verify', '--json', '--rpc-url', {url!r}, {str(path)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    rc = e.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    *verdict, loaded = proc.stdout.strip().splitlines()
    return proc.returncode, json.loads("\n".join(verdict)), json.loads(loaded)


@pytest.mark.parametrize(
    ("scenario", "rc", "reason"),
    [("direct/ok", 0, ""), ("checkpoint/ok", 0, ""), ("direct/other-root", 1, "anchor.root-mismatch")],
)
def test_verify_reads_the_chain_without_web3(
    node: tuple[str, dict[str, Any]], tmp_path: Path, scenario: str, rc: int, reason: str
) -> None:
    url, answers = node
    doc, canned = SCENARIOS[scenario]
    answers.update(canned)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(doc))
    code, verdict, loaded = verify_in_a_process(path, url)
    anchor = next(c for c in verdict["checks"] if c["check"] == "anchor")
    assert (code, anchor["reason"]) == (rc, reason), verdict
    assert loaded == []
