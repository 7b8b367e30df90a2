// provenance/proofs/collection_verify.py: each snapshot verified once, each record by its leaf and
// inclusion proof, each lineage edge (a ref to a record in the collection) by checkEdge.
//
// Where Python's verify_collection raises instead of reporting (see the report of
// tests/web/verify.test.mjs: a float record or root index, a snapshot whose manifest is not an
// object, a key beyond ±(2^53-1)), this throws too, so that the two never disagree silently.

import { bundleFromJson } from "./bundle.js";
import { keyText } from "./canonical.js";
import { cutOut } from "./collection.js";
import { ProvenanceError } from "./errors.js";
import { checkEdge, refKey } from "./lineage.js";
import { manifestDatasetId } from "./manifest.js";
import { hashLeaf } from "./merkle.js";
import { get, numKey, numLt, pyIndex, pyRepr, pyStr } from "./py.js";
import { snapshotFromJson, verifySnapshot } from "./snapshot.js";
import { INVALID, SNAPSHOT_CHECKS, VALID, invalid, verdict } from "./verdict.js";
import { leafInput, recordChecks } from "./verify.js";

const MAX_REPORTED = 20;

/** verify_collection: a parsed collection's verdict (CollectionVerdict.to_json()). */
export async function verifyParsedCollection(c, policy, chain = null) {
  const failures = [];
  const records = c.records.map((_, i) => parseRecord(c, i, failures));
  const snapshots = await verifySnapshots(c, policy, chain);
  records.forEach((rec, i) => {
    if (rec.bundle) checkRecord(rec, pyIndex(snapshots, c.records[i].snapshot).verdict, failures);
  });
  const edges = checkEdges(c, records, failures);
  return collectionVerdict(snapshots, records, edges, failures, c.truncated, policy.offline);
}

function collectionVerdict(snapshots, records, edges, failures, truncated, offline) {
  const statuses = snapshots.map((s) => s.verdict.status);
  let status = "valid";
  if (failures.length || statuses.includes("invalid")) status = "invalid";
  else if (statuses.includes("retracted")) status = "retracted";
  else if (statuses.some((s) => s !== "valid")) status = "incomplete";
  return {
    format: "provenance-proofs-verdict/v1",
    status,
    offline,
    snapshots: snapshots.map(({ label, verdict: v }) => ({
      snapshot: label,
      status: v.status,
      checks: v.checks.filter((x) => SNAPSHOT_CHECKS.includes(x.check)),
    })),
    records: { count: records.length, valid: records.filter((r) => r.ok).length },
    edges: { count: edges.count, valid: edges.valid, outside: edges.outside },
    truncated,
    failures: failures.slice(0, MAX_REPORTED),
    failureCount: failures.length,
  };
}

const failure = (where, reason, detail) => ({ where, reason, detail });

function parseRecord(c, index, failures) {
  const raw = c.records[index];
  const snap = pyIndex(c.snapshots, raw.snapshot);
  const label = `${pyStr(snap.dataset)}@${pyStr(snap.version)} key ${keyLabel(raw.key)}`;
  try {
    return { label, bundle: bundleFromJson(cutOut(c, index)), ok: true, leaf: new Uint8Array(0) };
  } catch (e) {
    if (!(e instanceof ProvenanceError)) throw e;
    failures.push(failure(label, e.code, e.message));
    return { label, bundle: null, ok: false, leaf: new Uint8Array(0) };
  }
}

async function verifySnapshots(c, policy, chain) {
  const out = [];
  for (const snap of c.snapshots) {
    const label = `${pyStr(snap.dataset)}@${pyStr(snap.version)}`;
    let proof;
    try {
      proof = snapshotFromJson(snap);
    } catch (e) {
      if (!(e instanceof ProvenanceError)) throw e;
      out.push({ label, verdict: verdict([invalid("signature", e.code, e.message)]) });
      continue;
    }
    out.push({ label, verdict: await verifySnapshot(proof, policy, chain) });
  }
  return out;
}

function checkRecord(rec, snapshot, failures) {
  for (const c of recordChecks(rec.bundle)) {
    if (c.status !== VALID) {
      failures.push(failure(rec.label, c.reason, c.detail));
      rec.ok = false;
    }
  }
  try {
    rec.leaf = hashLeaf(leafInput(rec.bundle));
  } catch {
    rec.ok = false; // its leaf check has already failed
  }
  if (snapshot.checks.some((x) => SNAPSHOT_CHECKS.includes(x.check) && x.status === INVALID)) rec.ok = false;
}

const refsOf = (b) => (b ? get(b.record.entry, "derived_from", null) || [] : []);

function checkEdges(c, records, failures) {
  const byKey = new Map();
  records.forEach((r, i) => {
    if (r.bundle) byKey.set(refKey(r.bundle.record.dataset, r.bundle.record.version, r.bundle.record.key), i);
  });
  const held = depths(c, records, byKey);
  const claimed = get(c.raw, "depth", null);
  const n = { count: 0, valid: 0, outside: 0 };
  records.forEach((rec, i) => {
    for (const ref of refsOf(rec.bundle)) {
      n.count++;
      const where = `${rec.label} -> ${pyStr(ref.dataset)}@${pyStr(ref.version)} key ${keyLabel(ref.key)}`;
      const target = byKey.get(refKey(ref.dataset, ref.version, ref.key));
      if (target === undefined) {
        n.outside++;
        if (claimed !== null && held.has(i) && numLt(held.get(i), claimed) && !c.truncated) {
          failures.push(failure(where, "lineage.missing-upstream", "the collection should hold this record"));
        }
        continue;
      }
      const broken = edge(ref, rec, records[target]);
      if (broken === null) n.valid++;
      else failures.push(failure(where, ...broken));
    }
  });
  return n;
}

function edge(ref, child, parent) {
  const m = parent.bundle.manifest.manifest;
  const found = {
    dataset: m.dataset,
    version: m.version,
    key: parent.bundle.record.key,
    datasetId: manifestDatasetId(m),
    root: m.root,
    status: parent.ok ? "valid" : "invalid",
    leaf: parent.leaf,
  };
  return checkEdge(ref, child.bundle.manifest.manifest.parents, found);
}

/** Steps from the root record along refs (only for lineage collections). */
function depths(c, records, byKey) {
  const depth = new Map();
  if (c.root === null) return depth;
  depth.set(numKey(c.root), 0);
  const queue = [c.root];
  while (queue.length) {
    const i = queue.shift();
    const b = pyIndex(records, i).bundle;
    for (const ref of refsOf(b)) {
      const j = byKey.get(refKey(ref.dataset, ref.version, ref.key));
      if (j !== undefined && !depth.has(numKey(j))) {
        depth.set(numKey(j), depth.get(numKey(i)) + 1);
        queue.push(j);
      }
    }
  }
  return new Map([...depth].map(([k, v]) => [Number(k), v]));
}

function keyLabel(values) {
  try {
    return keyText([...values]);
  } catch {
    return pyRepr(values);
  }
}
