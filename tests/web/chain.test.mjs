// The chain reader (web/src/verify/chain.js) against the Python ChainVerifier: for each chain case
// of the corpus (scripts/web_corpus/chain_scenarios.py), the same JSON-RPC answers reach the JS
// through fetch and Python through web3, and the verdicts must agree. And the signatures the
// reader encodes are the registry's, as its ABI declares them.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { ERRORS, EVENTS, FUNCTIONS } from "../../web/src/verify/chain.js";
import { rpcChain, verifyBundle } from "../../web/src/verify/index.js";

const project = (v) => ({
  status: v.status,
  checks: v.checks.map((c) => [c.check, c.status, c.reason]),
  warnings: (v.warnings ?? []).map((c) => [c.check, c.status, c.reason]),
});

/** A node answering from a table: method, or eth_call:<selector>, to its JSON-RPC response. */
function cannedFetch(answers) {
  return async (url, init) => {
    const { id, method, params } = JSON.parse(init.body);
    const key = method === "eth_call" ? `eth_call:${params[0].data.slice(0, 10)}` : method;
    const answer = answers[key] ?? { error: { code: -32601, message: `no answer for ${key}` } };
    if (answer === "down") throw new TypeError("fetch failed");
    if (answer === "http-502") return { ok: false, status: 502, json: async () => ({}) };
    if (answer === "garbage") {
      return {
        ok: true,
        status: 200,
        json: async () => {
          throw new SyntaxError("Unexpected token '<', \"<html>502 \"... is not valid JSON");
        },
      };
    }
    return { ok: true, status: 200, json: async () => ({ jsonrpc: "2.0", id, ...answer }) };
  };
}

test("the chain reader reaches the Python verdict on every chain case", async (t) => {
  const path = process.env.WEB_CORPUS;
  assert.ok(path, "set WEB_CORPUS to a corpus written by scripts/make_web_corpus.py");
  const cases = JSON.parse(readFileSync(path, "utf8")).chainCases;
  assert.ok(cases.length > 20);
  for (const ok of ["chain/checkpoint/ok", "chain/direct/ok"]) {
    assert.equal(cases.find((c) => c.name === ok).expected.status, "valid", `${ok} must be a valid case`);
  }
  const disputed = cases.find((c) => c.name === "chain/direct/disputed").expected;
  assert.equal(disputed.status, "valid", "a dispute is a warning, not a failure");
  assert.deepEqual(disputed.warnings.map((w) => w.reason), ["anchor.disputed"]);
  const differ = [];
  for (const c of cases) {
    const chain = rpcChain("http://node.invalid", {
      confirmations: c.confirmations,
      fetch: cannedFetch(c.answers),
    });
    const js = await verifyBundle(c.text, { chain });
    try {
      assert.deepStrictEqual(project(js), project(c.expected));
    } catch {
      differ.push(c.name);
      console.error(
        `--- ${c.name}\npython: ${JSON.stringify(project(c.expected))}\njs:     ${JSON.stringify(project(js))}`,
      );
    }
  }
  t.diagnostic(`${cases.length} chain cases, ${differ.length} differ`);
  assert.deepEqual(differ, []);
});

test("the reader's signatures are the registry ABI's", () => {
  const artifact = new URL("../../provenance/chain/artifacts/ProvenanceRegistry.json", import.meta.url);
  const abi = JSON.parse(readFileSync(artifact, "utf8")).abi;
  const signature = (item) => `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
  const find = (type, name) => abi.find((item) => item.type === type && item.name === name);
  for (const [name, [sig, outputs]] of Object.entries(FUNCTIONS)) {
    const item = find("function", name);
    assert.equal(signature(item), sig);
    assert.deepEqual(
      item.outputs.map((o) => o.type),
      outputs,
    );
    assert.equal(item.stateMutability, "view");
  }
  for (const [name, [sig, inputs]] of Object.entries(EVENTS)) {
    const item = find("event", name);
    assert.equal(signature(item), sig);
    assert.deepEqual(
      item.inputs.map((i) => [i.name, i.type, i.indexed]),
      inputs,
    );
  }
  assert.deepEqual(
    [...ERRORS].sort(),
    abi
      .filter((i) => i.type === "error")
      .map(signature)
      .sort(),
  );
});
