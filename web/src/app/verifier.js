// What the page asks of the verifier (web/src/verify/): a verdict for pasted text, the chain's
// head, and the append-only watch. Kept apart from main.js so the page never reaches into the
// verifier's internals.
import { verifyDocument, rpcChain, jsonRpc } from "../verify/index.js";
import { parseVerifierKey, verifyNote } from "../verify/checkpoint.js";
import { verifyConsistency } from "../verify/merkle.js";
import { fromHex, hexStr } from "../verify/bytes.js";
import { evaluatePolicy, factsOf, trustedPolicy } from "../verify/policy.js";

function unusable(e) {
  return { status: "unusable", code: e?.code || "bundle.malformed", message: String(e?.message || e) };
}

function subjectOf(doc) {
  if (doc?.format === "provenance-proof/v1") return { dataset: doc.record?.dataset, version: doc.record?.version };
  const root = doc?.records?.[doc.root ?? 0];
  const snap = root ? doc.snapshots?.[root.snapshot] : null;
  return snap ? { dataset: snap.dataset, version: snap.version } : {};
}

/**
 * A JSON Lines collection (what `provenance export` and `.../records?with_proofs=true` write:
 * a header line with the snapshot proofs, then one record per line) as the same collection in
 * one JSON document, whose every record's path the verifier then checks on its own. Record
 * lines are kept as their text, so their numbers stay exact; null when it is not one.
 */
export function fromJsonLines(text) {
  const lines = text.split("\n").filter((l) => l.trim());
  let header;
  try {
    header = JSON.parse(lines[0]);
  } catch {
    return null;
  }
  if (header?.format !== "provenance-proofs/v1" || header.layout !== "jsonl") return null;
  const count = lines.length - 1;
  const note = count === header.recordCount ? null : `the header announces ${header.recordCount} records, the file holds ${count}`;
  const doc = `{"format":"provenance-proofs/v1","snapshots":${JSON.stringify(header.snapshots)},"records":[${lines.slice(1).join(",")}]}`;
  return { doc, note };
}

/** Verify a bundle or a collection given as text; never throws. */
export async function verifyText(text, opts) {
  const lines = fromJsonLines(text);
  if (lines) {
    const result = await verifyText(lines.doc, opts);
    if (lines.note && result.status !== "unusable") {
      return { ...result, status: "invalid", notes: [lines.note, ...(result.notes || [])] };
    }
    return result;
  }
  const chain = opts.offline ? null : rpcChain(opts.rpcUrl, { confirmations: opts.confirmations });
  let result;
  try {
    result = await verifyDocument(text, { offline: opts.offline, logKeys: [], chain });
  } catch (e) {
    return unusable(e);
  }
  const { kind, verdict } = result;
  if (verdict.status === "unusable") return { status: "unusable", code: verdict.code, message: verdict.detail, kind };
  const doc = JSON.parse(text); // for display only (the graph, the subject): verdicts come from the text
  const notes = [];
  const contracts = anchorContracts(doc, kind);
  if (opts.registry && contracts.some((c) => c.toLowerCase() !== opts.registry.toLowerCase())) {
    notes.push(`anchored in ${contracts.join(", ")}, not in the registry set above (${opts.registry})`);
  }
  return { status: verdict.status, verdict, doc, kind, subject: subjectOf(doc), notes };
}

function anchorContracts(doc, kind) {
  const anchors = kind === "collection" ? (doc.snapshots || []).map((s) => s.anchor) : [doc.anchor];
  return anchors.filter(Boolean).map((a) => String(a.contract));
}

export async function blockNumber(rpcUrl) {
  return Number(BigInt(await jsonRpc(rpcUrl)("eth_blockNumber", [])));
}

/**
 * The append-only watch: the checkpoint this browser saw last (size, root, the log key it was
 * signed with) against the ledger's latest, checked here: the latest note's Ed25519 signature
 * by the same key, and an RFC 9162 consistency proof from the old size to the new one.
 */
export async function checkAppendOnly(seen, latest, consistency) {
  let checkpoint;
  const key = seen?.logKey || latest.logKey;
  try {
    checkpoint = verifyNote(parseVerifierKey(key), latest.note);
  } catch (e) {
    return { ok: false, state: "bad-signature", message: `the latest checkpoint is not signed by the log key this browser pinned: ${e.message}` };
  }
  const now = { size: Number(checkpoint.size), root: hexStr(checkpoint.root), logKey: key };
  if (!seen) return { ok: true, state: "first-visit", keep: now, message: `log key pinned; watching from checkpoint size ${now.size}` };
  if (seen.size === now.size && seen.root === now.root) {
    return { ok: true, state: "unchanged", keep: now, message: `log unchanged since your last visit (size ${now.size})` };
  }
  try {
    if (now.size < seen.size) throw new Error(`the log shrank from ${seen.size} to ${now.size}`);
    const proof = now.size === seen.size ? { proof: [] } : await consistency(seen.size, now.size);
    verifyConsistency(seen.size, now.size, fromHex(seen.root.slice(2)), checkpoint.root, proof.proof.map((h) => fromHex(h.slice(2))));
  } catch (e) {
    return {
      ok: false,
      state: "rewritten",
      message: `WARNING: the ledger log was rewritten since your last visit (size ${seen.size}, root ${seen.root}): ${e.message || e}`,
    };
  }
  return { ok: true, state: "extended", keep: now, message: `log grew from ${seen.size} to ${now.size}; consistency proof verified here` };
}

/**
 * Grade a verified bundle by its dataset's policy: the policy's own bundle verified here first
 * (it must be a record of ledger/policy/<dataset> signed by the datum's signer), then the
 * anchor's depth and time read from the chain's JSON-RPC (offline: unknown).
 */
export async function gradeByPolicy(datum, valid, policyBundle, opts) {
  const checked = await verifyText(JSON.stringify(policyBundle), opts);
  const policy = trustedPolicy(policyBundle, checked.status, datum);
  let depth = null;
  let at = null;
  if (!opts.offline && datum.anchor) {
    const rpc = jsonRpc(opts.rpcUrl);
    const number = Number(datum.anchor.blockNumber);
    const head = Number(BigInt(await rpc("eth_blockNumber", [])));
    const block = await rpc("eth_getBlockByNumber", [`0x${number.toString(16)}`, false]);
    if (block && String(block.hash).toLowerCase() === String(datum.anchor.blockHash).toLowerCase()) {
      depth = head - number + 1;
      at = Number(BigInt(block.timestamp));
    }
  }
  return evaluatePolicy(policy, factsOf(datum, valid, depth, at));
}
