"""The audit console in headless Chromium (Debian's, driven by Playwright), against a real server
and anvil: a served bundle shows every check green; tampered bundles fail the check they break,
with the reason code the Python verifier gives for the same document; no request leaves
127.0.0.1; the append-only watch raises the alarm when the log it saw was rewritten."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from provenance.chain.verifier import verifier_for
from provenance.proofs import bundle
from provenance.proofs.verify import Policy, verify_bundle
from tests.integration.http.conftest import ADMIN, EXE, Server, base_env

pytestmark = [pytest.mark.browser, pytest.mark.http, pytest.mark.chain]

CHROMIUM = Path("/usr/bin/chromium")
PRICES = "symbol,date,close\nBTC,2026-11-27,97000\nETH,2026-11-27,3610\nSOL,2026-11-27,240.5\n"


def publish(server: Server, name: str, mode: str = "checkpoint") -> None:
    """A dataset of PRICES, server-signed, its version 1 uploaded and anchored."""
    spec = {"name": name, "key": ["symbol", "date"], "columns": {"close": "number"}, "anchorMode": mode}
    r = server.post("/v1/datasets", json={**spec, "signingKey": "dev-source"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    up = server.post(f"/v1/datasets/{name}/versions?format=csv", content=PRICES.encode(), headers=ADMIN)
    assert up.status_code == 201, up.text
    server.wait_for(f"/v1/datasets/{name}/versions/1/snapshot-proof", lambda b: b["anchor"] is not None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("serve") / "data", base_env("anvil")).start()
    for name, mode in (("web/prices", "checkpoint"), ("web/direct", "direct")):
        publish(s, name, mode)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/ensure_chromium.sh installs it (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


class Console:
    """One browser page on the console, recording every request it makes."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.server = server
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, query: str = "", fragment: str = "") -> dict[str, Any]:
        self.page.goto(f"{self.server.url}/audit{query}{fragment}")
        self.page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        return self.result()

    def result(self) -> dict[str, Any]:
        rows = self.page.eval_on_selector_all(
            "#result table tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
        )
        verdict = self.page.get_attribute("#verdict", "data-status")
        checks = {r[0]: (r[1], r[2]) for r in rows if len(r) == 4 and r[0] != "check"}
        code = self.page.get_attribute("#result p.unusable", "data-code") if verdict == "unusable" else None
        return {
            "status": verdict,
            "checks": checks,
            "code": code,
            "ms": self.page.get_attribute("#verdict", "data-ms"),
        }

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def console(browser: Any, server: Server) -> Iterator[Console]:
    c = Console(browser, server)
    yield c
    hosts = {urlparse(u).hostname for u in c.requests if not u.startswith(("data:", "about:"))}
    c.close()
    assert hosts <= {"127.0.0.1"}, f"requests left 127.0.0.1: {hosts}"


def rpc(server: Server) -> str:
    return f"http://127.0.0.1:{server.env['PROVENANCE_ANVIL_PORT']}"


def python_verdict(server: Server, doc: dict[str, Any]) -> dict[str, Any]:
    chain = verifier_for(rpc(server), confirmations=1)
    return verify_bundle(bundle.from_json(doc), policy=Policy(), chain=chain).to_json()


def link(doc: dict[str, Any]) -> str:
    return "#bundle=" + base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def served(server: Server, dataset: str) -> dict[str, Any]:
    body: dict[str, Any] = server.get(f"/v1/datasets/{dataset}/versions/1/proof?key=BTC,2026-11-27").json()
    return body["bundle"]


@pytest.mark.parametrize("dataset", ["web/prices", "web/direct"])
def test_a_served_bundle_shows_every_check_green(console: Console, server: Server, dataset: str) -> None:
    shown = console.open(f"?dataset={dataset}&version=1&key=BTC,2026-11-27")
    assert shown["status"] == "valid", shown
    assert {s for s, _ in shown["checks"].values()} <= {"valid", "not-applicable"}
    assert {n for n, (s, _) in shown["checks"].items() if s == "valid"} >= {
        "leaf",
        "inclusion",
        "signature",
        "anchor",
    }
    assert console.page.input_value("#rpc-url") == rpc(server)  # shown, editable
    print(f"\nconsole verified {dataset} v1 in {shown['ms']} ms (chain reads against anvil included)")


def _flip(text: str, at: int = 10) -> str:
    return text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1 :]


TAMPER: dict[str, Callable[[dict[str, Any]], None]] = {
    "record": lambda d: d["record"]["entry"]["record"].update(close=97001),
    "path": lambda d: d["record"]["inclusionPath"].__setitem__(0, _flip(d["record"]["inclusionPath"][0])),
    "signature": lambda d: d["manifest"].update(signature=_flip(d["manifest"]["signature"], 20)),
    "checkpoint": lambda d: d["log"].update(checkpoint=d["log"]["checkpoint"][:-9] + "AAAAAAAA\n"),
    "anchor tx": lambda d: d["anchor"].update(txHash=_flip(d["anchor"]["txHash"])),
}


@pytest.mark.parametrize("what", list(TAMPER))
def test_a_tampered_bundle_fails_the_check_python_fails(console: Console, server: Server, what: str) -> None:
    doc = copy.deepcopy(served(server, "web/prices"))
    TAMPER[what](doc)
    expected = python_verdict(server, doc)
    assert expected["status"] == "invalid", expected
    shown = console.open(fragment=link(doc))
    assert shown["status"] == expected["status"], shown
    failing = {c["check"]: c["reason"] for c in expected["checks"] if c["status"] == "invalid"}
    assert {n: r for n, (s, r) in shown["checks"].items() if s == "invalid"} == failing


def test_a_broken_lineage_edge_is_named(console: Console, server: Server) -> None:
    spec = {
        "name": "web/ratings",
        "key": ["symbol"],
        "derivedFrom": "_derived_from",
        "signingKey": "dev-source",
    }
    assert server.post("/v1/datasets", json=spec, headers=ADMIN).status_code == 201
    ref = {"dataset": "web/prices", "version": 1, "key": ["BTC", "2026-11-27"]}
    body = json.dumps({"symbol": "BTC", "grade": 80, "_derived_from": [ref]}) + "\n"
    transform = base64.b64encode(json.dumps({"name": "g", "code": "git:" + "3" * 40, "params": {}}).encode())
    headers = {**ADMIN, "Content-Type": "application/x-ndjson", "Provenance-Transform": transform.decode()}
    up = server.post(
        "/v1/datasets/web/ratings/versions?parents=web/prices@1", content=body.encode(), headers=headers
    )
    assert up.status_code == 201, up.text
    server.wait_for("/v1/datasets/web/ratings/versions/1/snapshot-proof", lambda b: b["anchor"] is not None)
    shown = console.open("?dataset=web/ratings&version=1&key=BTC&lineage=1")
    assert shown["status"] == "valid", shown
    assert console.page.text_content("#summary").startswith(
        "records: 2 of 2 valid; lineage edges: 1 of 1 valid"
    )
    assert console.page.locator("#graph svg rect").count() == 2
    doc = json.loads(console.page.input_value("#input"))
    doc["records"][0]["entry"]["derived_from"][0]["leaf"] = "0x" + "00" * 32
    console.page.fill("#input", json.dumps(doc))
    console.page.click("#verify")
    console.page.wait_for_selector("#verdict[data-status=invalid]")
    failures = console.page.eval_on_selector_all(
        "#result table tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert any("lineage.leaf-mismatch" in " ".join(r) or "leaf.mismatch" in " ".join(r) for r in failures), (
        failures
    )


def test_the_watch_warns_when_the_log_was_rewritten(console: Console, server: Server) -> None:
    console.open()
    first = console.page.get_attribute("#watch", "data-state")
    assert first in ("first-visit", "unchanged", "extended"), first
    seen = json.loads(console.page.evaluate("localStorage.getItem('provenance.lastCheckpoint')"))
    forged = {**seen, "root": "0x" + "11" * 32}
    console.page.evaluate(
        f"localStorage.setItem('provenance.lastCheckpoint', {json.dumps(json.dumps(forged))})"
    )
    console.open()
    assert console.page.get_attribute("#watch", "data-state") == "rewritten"
    assert "rewritten" in console.page.text_content("#watch")


def test_browse_datasets_versions_checkpoints_sources_and_the_log(console: Console, server: Server) -> None:
    console.open("?dataset=web/prices&version=1&key=BTC,2026-11-27")  # recorded in the log
    page = console.page
    page.click("nav a[data-tab=datasets]")
    page.wait_for_selector("#datasets table")
    page.click("#datasets a:text-is('web/prices')")
    page.wait_for_selector("#versions table")
    row = page.eval_on_selector_all(
        "#versions tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )[1]
    assert row[0] == "1" and row[1] == "3" and row[3] in ("mined", "confirmed") and row[4].startswith("0x")
    assert int(row[6]) >= 1  # confirmations, counted from the chain's head read in the browser
    page.click("nav a[data-tab=checkpoints]")
    page.wait_for_selector("#checkpoints table")
    assert page.locator("#checkpoints tr").count() >= 2
    page.click("nav a[data-tab=sources]")
    page.wait_for_selector("#sources table")
    assert "active" in page.text_content("#sources")
    page.click("nav a[data-tab=trail]")
    page.wait_for_selector("#trail table")
    first = page.eval_on_selector_all(
        "#trail tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )[1]
    assert first[1] == "web/prices" and first[3] == "valid"
    trail = server.get("/v1/verifications?dataset=web/prices").json()
    assert any(v["status"] == "valid" and v["checks"] for v in trail)


def test_a_published_version_with_proofs_verifies_in_the_console(console: Console, server: Server) -> None:
    lines = server.get("/v1/datasets/web/prices/versions/1/records?with_proofs=true").text
    console.open()
    console.page.fill("#input", lines)
    console.page.click("#verify")
    console.page.wait_for_selector("#verdict[data-status=valid]")  # selectors: the page's CSP forbids eval
    assert console.page.text_content("#summary").startswith("records: 3 of 3 valid")
    cut = "\n".join(lines.splitlines()[:-1]) + "\n"  # a download cut short
    console.page.fill("#input", cut)
    console.page.click("#verify")
    console.page.wait_for_selector("#verdict[data-status=invalid]")
    assert "the header announces 3 records, the file holds 2" in console.page.text_content("#result")


def test_a_retracted_checkpoint_mode_version_shows_retracted(console: Console, server: Server) -> None:
    """#12 bar: the console reads the retraction from the chain itself (isRetracted) and says so."""
    name = "web/retracted"
    publish(server, name)
    r = server.post(
        f"/v1/datasets/{name}/versions/1/retraction", headers=ADMIN, json={"reason": "stale feed"}
    )
    assert r.status_code == 201, r.text
    server.wait_for(
        f"/v1/datasets/{name}/versions/1/retraction", lambda b: b["state"] in ("mined", "confirmed")
    )
    shown = console.open(f"?dataset={name}&version=1&key=BTC,2026-11-27")
    assert shown["status"] == "retracted", shown
    assert shown["checks"]["anchor"] == ("invalid", "anchor.retracted"), shown
    assert python_verdict(server, served(server, name))["status"] == "retracted"
    page = console.page  # the browse view of retractions, and the source's track record
    page.click("nav a[data-tab=retractions]")
    page.wait_for_selector("#retractions table")
    rows = page.eval_on_selector_all(
        "#retractions tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert [name, "1", "stale feed"] == rows[1][:3] and rows[1][4] in ("mined", "confirmed"), rows
    page.click("nav a[data-tab=sources]")
    page.wait_for_selector("#sources table a")
    page.click("#sources table a")
    page.wait_for_selector("#record table")
    figures = dict(
        page.eval_on_selector_all(
            "#record tr", "rows => rows.slice(1).map(r => [...r.cells].map(c => c.textContent))"
        )
    )
    signer = page.text_content("#sources table a")
    assert figures["retractions"] == str(server.get(f"/v1/sources/{signer}/record").json()["retractions"])
    assert int(figures["retractions"]) >= 1 and int(figures["snapshots published"]) >= 2


def test_the_console_grades_a_datum_by_its_published_policy(
    console: Console, server: Server, tmp_path: Any
) -> None:
    """#12 item 4: the console verifies the dataset's policy bundle itself, reads the anchor's
    depth and time from the chain, and reports the levels met — as `provenance verify --policy`."""
    name = "web/graded"
    publish(server, name)
    signer = served(server, name)["manifest"]["signer"]
    levels = [
        {"name": "published", "signers": [signer]},
        {"name": "anchored", "anchorMode": "checkpoint", "minConfirmations": 1, "maxAnchorDelay": 3600},
        {"name": "final", "minConfirmations": 1000, "qualityPass": True},
    ]
    policy = {"format": "provenance-policy/v1", "dataset": name, "levels": levels}
    assert server.put(f"/v1/datasets/{name}/policy", headers=ADMIN, json=policy).status_code == 201
    server.wait_for(f"/v1/datasets/{name}/policy", lambda b: b["anchor"]["state"] in ("mined", "confirmed"))
    shown = console.open(f"?dataset={name}&version=1&key=BTC,2026-11-27")
    assert shown["status"] == "valid", shown
    page = console.page
    assert page.get_attribute("#policy", "data-met") == "anchored"
    rows = page.eval_on_selector_all(
        "#policy tr", "rows => rows.slice(1).map(r => [...r.cells].map(c => c.textContent))"
    )
    datum = tmp_path / "datum.json"
    datum.write_text(json.dumps(served(server, name)))
    done = subprocess.run(
        [
            str(EXE),
            "verify",
            str(datum),
            "--json",
            "--rpc-url",
            rpc(server),
            "--policy",
            f"{server.url}/v1/datasets/{name}/policy",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    graded = json.loads(done.stdout)["policy"]
    assert [(lv["name"], lv["met"], "; ".join(lv["unmet"])) for lv in graded["levels"]] == [
        (r[0], r[1] == "valid", r[2]) for r in rows
    ]
