// The audit console. Verification runs here, in the browser (web/src/verify/), against the
// chain's JSON-RPC at the URL the auditor sets; the ledger's API only hands out documents and
// keeps the log of verifications. Everything a document holds is shown as text (textContent),
// never as markup: a bundle is hostile input.
import dagre from "dagre";
import * as verifier from "./verifier.js";

const $ = (id) => document.getElementById(id);
const KEYS = { rpc: "provenance.rpcUrl", registry: "provenance.registry", seen: "provenance.lastCheckpoint" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

function table(headers, rows) {
  const t = el("table", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h))));
  for (const r of rows) t.append(el("tr", {}, ...r.map((c) => (c instanceof Node ? el("td", {}, c) : el("td", {}, c)))));
  return t;
}

function status(text) {
  return el("span", { class: String(text) }, text);
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code || response.status}: ${body.detail || ""}`);
  return body;
}

// --- settings: the chain the auditor trusts -----------------------------------------------------

async function loadSettings() {
  let config = { rpcUrl: null, deployment: null };
  try {
    config = await api("/audit/config.json");
  } catch {
    /* the page still verifies offline */
  }
  $("rpc-url").value = localStorage.getItem(KEYS.rpc) || config.rpcUrl || "";
  $("registry").value = localStorage.getItem(KEYS.registry) || config.deployment?.address || "";
  for (const [id, key] of [["rpc-url", KEYS.rpc], ["registry", KEYS.registry]]) {
    $(id).addEventListener("change", () => localStorage.setItem(key, $(id).value.trim()));
  }
}

function options() {
  const offline = $("offline").checked || !$("rpc-url").value.trim();
  return {
    offline,
    rpcUrl: $("rpc-url").value.trim(),
    registry: $("registry").value.trim() || null,
    confirmations: Number($("confirmations").value) || 1,
  };
}

// --- verify -------------------------------------------------------------------------------------

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return "0x" + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function runVerify(text) {
  const out = $("result");
  out.replaceChildren();
  $("graph").replaceChildren();
  $("verdict").replaceChildren(status("verifying…"));
  const started = performance.now();
  const result = await verifier.verifyText(text, options());
  const took = performance.now() - started;
  $("verdict").replaceChildren(status(result.status), ` in ${took.toFixed(0)} ms`);
  $("verdict").dataset.status = result.status;
  $("verdict").dataset.ms = took.toFixed(1);
  if (result.status === "unusable") {
    out.append(el("p", { class: "unusable", "data-code": result.code }, `${result.code}: ${result.message || ""}`));
  } else {
    for (const note of result.notes || []) out.append(el("p", { class: "incomplete" }, note));
  }
  if (result.status === "unusable") {
    /* shown above */
  } else if (result.kind === "collection") {
    renderCollection(out, result.verdict, result.doc);
  } else {
    renderBundle(out, result.verdict, "");
    await showPolicy(out, result).catch((e) => out.append(el("p", { class: "invalid" }, `policy: ${e.message || e}`)));
  }
  record(text, result).catch(() => {});
}

// The dataset's published verification policy, verified here like any bundle, then applied to
// the datum: which of its levels the datum meets (provenance verify --policy gives the same).
async function showPolicy(out, result) {
  const dataset = result.subject?.dataset;
  if (!dataset || result.doc?.format !== "provenance-proof/v1") return;
  let published;
  try {
    published = await api(`/v1/datasets/${dataset}/policy`);
  } catch {
    return; // none published
  }
  const graded = await verifier.gradeByPolicy(result.doc, result.status === "valid", published.bundle, options());
  const box = el("div", { id: "policy", "data-met": graded.met || "" });
  box.append(el("h3", {}, `policy of ${dataset} (version ${published.version}): ${graded.met ? `met ${graded.met}` : "no level met"}`));
  box.append(table(["level", "met", "why not"], graded.levels.map((lv) => [lv.name, status(lv.met ? "valid" : "invalid"), lv.unmet.join("; ")])));
  out.append(box);
}

function renderBundle(out, verdict, title) {
  if (title) out.append(el("h3", {}, title));
  out.append(
    table(
      ["check", "status", "reason", "detail"],
      verdict.checks.map((c) => [c.check, status(c.status), c.reason, el("span", { class: "detail" }, c.detail)]),
    ),
  );
  out.lastChild.dataset.verdict = verdict.status;
  for (const w of verdict.warnings || []) {
    out.append(el("p", { class: "warning", "data-code": w.reason }, `warning (${w.reason}): ${w.detail}`));
  }
  verdict.upstream?.forEach((u, i) => renderBundle(out, u, `upstream ${i + 1}: ${u.status}`));
}

function renderCollection(out, verdict, doc) {
  for (const s of verdict.snapshots) {
    out.append(el("h3", {}, `snapshot ${s.snapshot}: `, status(s.status)));
    out.append(table(["check", "status", "reason", "detail"], s.checks.map((c) => [c.check, status(c.status), c.reason, c.detail])));
  }
  out.append(
    el("p", { id: "summary" }, `records: ${verdict.records.valid} of ${verdict.records.count} valid; lineage edges: `,
      `${verdict.edges.valid} of ${verdict.edges.count} valid, ${verdict.edges.outside} outside the collection`),
  );
  if (verdict.failures.length) {
    out.append(table(["failed", "reason", "detail"], verdict.failures.map((f) => [f.where, status(f.reason), f.detail || ""])));
  }
  if (doc?.records) drawLineage($("graph"), doc, verdict);
}

async function record(text, result) {
  // The verification log keeps what this browser saw (the ledger marks it as the console's).
  const verdict = result.verdict || {};
  const checks = verdict.checks || (verdict.snapshots || []).flatMap((s) => s.checks);
  const subject = result.subject || {};
  await fetch("/v1/verifications", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      bundleSha256: await sha256Hex(text),
      status: result.status,
      offline: options().offline,
      dataset: subject.dataset || null,
      version: subject.version || null,
      checks: checks.slice(0, 64).map((c) => ({ check: c.check, status: c.status, reason: c.reason || "" })),
    }),
  });
}

// --- lineage graph ------------------------------------------------------------------------------

function drawLineage(target, doc, verdict) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "RL", nodesep: 14, ranksep: 50 });
  g.setDefaultEdgeLabel(() => ({}));
  const failed = new Set(verdict.failures.map((f) => f.where));
  const id = (dataset, version, key) => `${dataset}@${version} ${JSON.stringify(key)}`;
  doc.records.forEach((r) => {
    const snap = doc.snapshots[r.snapshot] || {};
    const label = id(snap.dataset, snap.version, r.key);
    g.setNode(label, { label, width: 8 * label.length + 16, height: 30, bad: [...failed].some((w) => w.includes(label)) });
  });
  doc.records.forEach((r) => {
    const snap = doc.snapshots[r.snapshot] || {};
    for (const ref of r.entry?.derived_from || []) {
      const to = id(ref.dataset, ref.version, ref.key);
      if (g.hasNode(to)) g.setEdge(id(snap.dataset, snap.version, r.key), to);
    }
  });
  if (g.nodeCount() < 2) return;
  dagre.layout(g);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const { width, height } = g.graph();
  svg.setAttribute("viewBox", `0 0 ${width + 20} ${height + 20}`);
  svg.setAttribute("width", String(width + 20));
  for (const e of g.edges()) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", g.edge(e).points.map((p) => `${p.x + 10},${p.y + 10}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#778");
    svg.append(line);
  }
  for (const name of g.nodes()) {
    const n = g.node(name);
    const box = document.createElementNS(ns, "rect");
    Object.entries({ x: n.x - n.width / 2 + 10, y: n.y - n.height / 2 + 10, width: n.width, height: n.height, rx: 4 })
      .forEach(([k, v]) => box.setAttribute(k, String(v)));
    box.setAttribute("fill", n.bad ? "#fde2e4" : "#e6f4ea");
    box.setAttribute("stroke", n.bad ? "#b00020" : "#11702b");
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", String(n.x + 10));
    text.setAttribute("y", String(n.y + 14));
    text.setAttribute("text-anchor", "middle");
    text.setAttribute("font-size", "12");
    text.textContent = n.label;
    svg.append(box, text);
  }
  target.append(el("h3", {}, "lineage"), svg);
}

// --- inputs: paste, drop, file, #bundle=, ?dataset=&version=&key= ------------------------------

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

async function fromLocation() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("bundle")) return fromBase64Url(hash.get("bundle"));
  const q = new URLSearchParams(location.search);
  if (q.get("dataset") && q.get("version") && q.get("key")) {
    const base = `/v1/datasets/${q.get("dataset")}/versions/${encodeURIComponent(q.get("version"))}`;
    const key = encodeURIComponent(q.get("key"));
    if (q.get("lineage")) return JSON.stringify(await api(`${base}/lineage/records?key=${key}&depth=${q.get("lineage")}`));
    return JSON.stringify((await api(`${base}/proof?key=${key}`)).bundle);
  }
  return null;
}

function wireInputs() {
  $("verify").addEventListener("click", () => runVerify($("input").value));
  $("file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (file) {
      $("input").value = await file.text();
      runVerify($("input").value);
    }
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => (e.preventDefault(), drop.classList.add("over")));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    $("input").value = file ? await file.text() : e.dataTransfer.getData("text");
    runVerify($("input").value);
  });
}

// --- browse -------------------------------------------------------------------------------------

async function blockNumber() {
  const { rpcUrl, offline } = options();
  if (offline) return null;
  try {
    return await verifier.blockNumber(rpcUrl);
  } catch {
    return null;
  }
}

function anchorCells(anchor, head) {
  if (!anchor) return [status("pending"), "", "", ""];
  const confirmations = head != null && anchor.blockNumber != null ? head - anchor.blockNumber + 1 : "?";
  const state = anchor.state || (confirmations !== "?" && confirmations >= options().confirmations ? "confirmed" : "mined");
  return [status(state), anchor.txHash || "", String(anchor.blockNumber ?? ""), String(confirmations)];
}

async function showVersions(name) {
  const head = await blockNumber();
  const rows = [];
  for (const v of await api(`/v1/datasets/${name}/versions`)) {
    const proof = await api(`/v1/datasets/${name}/versions/${v.version}/snapshot-proof`);
    const link = el("a", { href: `?dataset=${encodeURIComponent(name)}&version=${v.version}` }, "lineage");
    rows.push([String(v.version), String(v.size), v.root, ...anchorCells(proof.anchor, head), link]);
  }
  $("versions").replaceChildren(
    el("h3", {}, name),
    table(["version", "records", "root", "anchor", "tx", "block", "confirmations", ""], rows),
  );
}

// A source's track record: each figure from the chain's events and the published snapshots
// (docs/track-record.md says how to recompute it).
async function showRecord(address) {
  const r = await api(`/v1/sources/${address}/record`);
  const delay = r.anchorDelay.median == null ? "" : `${r.anchorDelay.median} s (max ${r.anchorDelay.max} s)`;
  const rows = [
    ["status", status(r.status)],
    ["snapshots published", String(r.published)],
    ["anchored", String(r.anchored)],
    ["median anchor delay", delay],
    ["late against the declared cadence", `${r.late.late} of ${r.late.checked}`],
    ["retractions", String(r.retractions)],
    ["disputes", String(r.disputes)],
    ["snapshots with failed quality rules", String(r.ruleFailures)],
    ["key rotations", String(r.keyRotations)],
  ];
  $("record").replaceChildren(el("h3", {}, `track record of ${r.source}`), table(["figure", "value"], rows),
    el("p", {}, "Every figure can be recomputed from the registry's events and the published snapshots: docs/track-record.md."));
}

async function showTab(tab) {
  document.querySelectorAll(".tab").forEach((s) => (s.hidden = s.id !== `tab-${tab}`));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("on", a.dataset.tab === tab));
  try {
    if (tab === "datasets") {
      const list = await api("/v1/datasets");
      $("datasets").replaceChildren(
        table(["dataset", "anchoring", "signed by", "derived from"], list.map((d) => {
          const a = el("a", { href: "#datasets" }, d.name);
          a.addEventListener("click", () => showVersions(d.name));
          return [a, d.anchorMode, d.signedBy, d.schema.derivedFrom || ""];
        })),
      );
    } else if (tab === "checkpoints") {
      const head = await blockNumber();
      const list = await api("/v1/checkpoints");
      $("checkpoints").replaceChildren(table(["size", "root", "created", "anchor", "tx", "block", "confirmations"],
        list.map((c) => [String(c.size), c.root, c.createdAt, ...anchorCells(c.anchor, head)])));
    } else if (tab === "sources") {
      const list = await api("/v1/sources");
      $("sources").replaceChildren(table(["address", "name", "status", "on chain"],
        list.map((s) => {
          const a = el("a", { href: "#sources" }, s.address);
          a.addEventListener("click", () => showRecord(s.address));
          return [a, s.name, status(s.status), s.onChain ?? ""];
        })));
    } else if (tab === "retractions") {
      const list = await api("/v1/retractions");
      $("retractions").replaceChildren(table(["dataset", "version", "reason", "signed by", "on chain", "tx"],
        list.map((r) => [r.dataset, String(r.version), r.reason, r.signer, status(r.state), r.txHash || ""])));
    } else if (tab === "trail") {
      const list = await api("/v1/verifications?limit=200");
      $("trail").replaceChildren(table(["time", "dataset", "version", "verdict", "by", "failed checks"],
        list.reverse().map((v) => [v.time, v.dataset || "", String(v.version ?? ""), status(v.status), v.client || "",
          v.checks.filter((c) => c.status === "invalid").map((c) => `${c.check}: ${c.reason}`).join("; ")])));
    }
  } catch (e) {
    $(`tab-${tab}`).append(el("p", { class: "invalid" }, String(e.message || e)));
  }
}

// --- append-only watch --------------------------------------------------------------------------

async function watch() {
  const box = $("watch");
  let latest;
  try {
    latest = await api("/v1/checkpoints/latest");
  } catch {
    return;
  }
  const seen = JSON.parse(localStorage.getItem(KEYS.seen) || "null");
  const result = await verifier.checkAppendOnly(seen, latest, async (from, to) => api(`/v1/log/consistency?from=${from}&to=${to}`));
  box.className = `watch ${result.ok ? "ok" : "alarm"}`;
  box.dataset.state = result.state;
  box.textContent = result.message;
  if (result.ok) localStorage.setItem(KEYS.seen, JSON.stringify(result.keep));
}

async function main() {
  await loadSettings();
  wireInputs();
  document.querySelectorAll("nav a").forEach((a) => a.addEventListener("click", () => showTab(a.dataset.tab)));
  watch().catch((e) => ($("watch").textContent = `append-only watch: ${e.message || e}`));
  const given = await fromLocation().catch((e) => ($("result").textContent = String(e.message || e), null));
  if (given) {
    $("input").value = given;
    await runVerify(given);
  }
  document.body.dataset.ready = "true";
}

main();
