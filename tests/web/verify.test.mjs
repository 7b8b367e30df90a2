// The browser verifier against the Python one, case by case: the corpus written by
// scripts/make_web_corpus.py (path in WEB_CORPUS) holds documents and the Python verdicts; the
// JS must give the same verdict status, and per check the same status and reason (for a
// collection: the same snapshot verdicts, record and edge counts and failures).
//
//   .venv/bin/python scripts/make_web_corpus.py /tmp/corpus.json
//   WEB_CORPUS=/tmp/corpus.json node --test tests/web/

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { verifyBundle, verifyCollection } from "../../web/src/verify/index.js";
import { evaluatePolicy } from "../../web/src/verify/policy.js";
import { loads } from "../../web/src/verify/json.js";
import { PROOFS_SCHEMA, PROOF_SCHEMA, SNAPSHOT_PROOF_SCHEMA } from "../../web/src/verify/schemas.js";

const MAX_SHOWN = 10;

/** What must agree: everything but the free-text details. */
function project(v) {
  if (v.status === "unusable") return { status: v.status, code: v.code };
  if (v.status === "crash") return { status: v.status, exception: v.exception };
  if (v.format === "provenance-proofs-verdict/v1") {
    return {
      status: v.status,
      offline: v.offline,
      snapshots: v.snapshots.map((s) => ({
        snapshot: s.snapshot,
        status: s.status,
        checks: checks(s.checks),
      })),
      records: v.records,
      edges: v.edges,
      truncated: v.truncated,
      failures: v.failures.map((f) => [f.where, f.reason]),
      failureCount: v.failureCount,
    };
  }
  return {
    status: v.status,
    offline: v.offline,
    checks: checks(v.checks),
    warnings: checks(v.warnings || []),
    upstream: v.upstream.map(project),
  };
}

const checks = (list) => list.map((c) => [c.check, c.status, c.reason]);

async function jsVerdict({ kind, text, options }) {
  try {
    return await (kind === "bundle" ? verifyBundle : verifyCollection)(text, options);
  } catch (e) {
    // where Python's verifier raises instead of giving a verdict, so must this
    return { status: "crash", exception: e.pyType ?? e.name, message: e.message };
  }
}

function corpus() {
  const path = process.env.WEB_CORPUS;
  assert.ok(path, "set WEB_CORPUS to a corpus written by scripts/make_web_corpus.py");
  return JSON.parse(readFileSync(path, "utf8")).cases;
}

test("the JS verifier gives every verdict of the Python one", async (t) => {
  const cases = corpus();
  const mismatches = [];
  for (const c of cases) {
    const js = await jsVerdict(c);
    try {
      assert.deepStrictEqual(project(js), project(c.expected));
    } catch {
      mismatches.push({ name: c.name, options: c.options, python: c.expected, js });
    }
  }
  for (const m of mismatches.slice(0, MAX_SHOWN)) {
    console.error(`\n--- ${m.name} ${JSON.stringify(m.options)}`);
    console.error(`python: ${JSON.stringify(project(m.python))}`);
    console.error(`js:     ${JSON.stringify(project(m.js))}`);
    if (m.js.message) console.error(`js threw: ${m.js.message}`);
  }
  const crashes = cases
    .filter((c) => c.expected.status === "crash")
    .map((c) => `${c.name}: ${c.expected.exception}`);
  t.diagnostic(`${cases.length} cases, ${mismatches.length} mismatches; Python raised on ${crashes.length}`);
  assert.equal(
    mismatches.length,
    0,
    `${mismatches.length} of ${cases.length} cases differ (first ${MAX_SHOWN} above)`,
  );
});

test("the schemas interpreted in the browser are the package schemas", () => {
  const root = new URL("../../provenance/schemas/", import.meta.url);
  const file = (name) => loads(readFileSync(new URL(name, root)));
  const plain = (v) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x)));
  assert.deepStrictEqual(plain(PROOF_SCHEMA), plain(file("provenance-proof-v1.schema.json")));
  assert.deepStrictEqual(
    plain(SNAPSHOT_PROOF_SCHEMA),
    plain(file("provenance-snapshot-proof-v1.schema.json")),
  );
  assert.deepStrictEqual(plain(PROOFS_SCHEMA), plain(file("provenance-proofs-v1.schema.json")));
});

test("the JS policy grading gives every result of the Python one", () => {
  const cases = JSON.parse(readFileSync(process.env.WEB_CORPUS, "utf8")).policyCases;
  assert.ok(cases.length >= 200, "the corpus holds policy cases");
  const wrong = cases.filter((c) => JSON.stringify(evaluatePolicy(c.policy, c.facts)) !== JSON.stringify(c.expected));
  assert.deepEqual(wrong.slice(0, MAX_SHOWN), []);
});
