// The chain reads of a verifier: provenance/chain/verifier.py (ChainVerifier) over the reads of
// provenance/chain/registry.py, through any EVM JSON-RPC endpoint with fetch. Nothing of the
// ledger service is trusted: the receipt, its events, the registry's storage and the block
// number are read from the chain and compared with the bundle.
//
// rpcChain(url) is what verifyBundle's `chain` option takes (an AnchorReader: checkAnchor()).

import { bigToBytes, bytesToBig, concat, equal, fromHex, hexStr, toHex, utf8 } from "./bytes.js";
import { ProvenanceError, PyError } from "./errors.js";
import { checksumAddress, keccak256 } from "./evm.js";
import { manifestDatasetId, manifestDigest } from "./manifest.js";
import { big, isDict, numEq } from "./py.js";
import { INVALID, PENDING, VALID, WARNING, check } from "./verdict.js";

// Signatures as the ABI of provenance/chain/artifacts/ProvenanceRegistry.json declares them
// (tests/web/chain.test.mjs compares); selectors and topics are computed from them here.
const FUNCTIONS = {
  sourceStatus: ["sourceStatus(address)", ["uint8"]],
  isAuthorizedSigner: ["isAuthorizedSigner(bytes32,address)", ["bool"]],
  snapshotOf: ["snapshotOf(bytes32,uint64)", ["bytes32", "uint64", "address", "uint64", "bool"]],
  latestCheckpoint: ["latestCheckpoint()", ["uint256", "uint64", "bytes32"]],
  isLogKey: ["isLogKey(string)", ["bool"]],
  isRetracted: ["isRetracted(bytes32,uint64,bytes32)", ["bool"]],
  disputeCount: ["disputeCount(bytes32,uint64,bytes32)", ["uint256"]],
};
// each input: [name, type, indexed]
const EVENTS = {
  CheckpointAnchored: [
    "CheckpointAnchored(uint256,uint64,bytes32)",
    [
      ["index", "uint256", true],
      ["size", "uint64", true],
      ["root", "bytes32", false],
    ],
  ],
  SnapshotAnchored: [
    "SnapshotAnchored(bytes32,uint64,address,bytes32,uint64,bytes32)",
    [
      ["datasetId", "bytes32", true],
      ["version", "uint64", true],
      ["signer", "address", true],
      ["root", "bytes32", false],
      ["size", "uint64", false],
      ["digest", "bytes32", false],
    ],
  ],
};
export const ERRORS = [
  "AlreadyRetracted(bytes32,uint64)",
  "AnchorerUnchanged(address,bool)",
  "CheckpointSizeDecreased(uint64,uint64)",
  "CheckpointSizeUnchanged(uint64)",
  "EmptyCheckpoint()",
  "EmptyLogKey()",
  "InvalidConsistencyProof()",
  "InvalidShortString()",
  "InvalidSignature()",
  "InvalidSignatureLength(uint256)",
  "InvalidSignatureS(bytes32)",
  "LogKeyUnchanged(bytes32,bool)",
  "NoCheckpoint()",
  "NotAnchorer(address)",
  "NotDatasetOwner(bytes32,address)",
  "NotDatasetSigner(bytes32,address)",
  "NotInLog(uint64)",
  "OwnableInvalidOwner(address)",
  "OwnableUnauthorizedAccount(address)",
  "RetractionMismatch()",
  "SignerAlreadyAuthorized(bytes32,address)",
  "SignerNotAuthorized(bytes32,address)",
  "SizeTooLarge(uint64)",
  "SnapshotNotFound(bytes32,uint64)",
  "SourceAlreadyActive(address)",
  "SourceIsRevoked(address)",
  "SourceNotActive(address)",
  "StringTooLong(string)",
  "UnexpectedProof()",
  "UnexpectedVersion(bytes32,uint64,uint64)",
  "ZeroAddress()",
  "ZeroCheckpointRoot()",
];

const selector = (signature) => keccak256(utf8(signature)).subarray(0, 4);
export const SELECTORS = Object.fromEntries(
  Object.entries(FUNCTIONS).map(([n, [sig]]) => [n, hexStr(selector(sig))]),
);
export const TOPICS = Object.fromEntries(
  Object.entries(EVENTS).map(([n, [sig]]) => [n, hexStr(keccak256(utf8(sig)))]),
);
const ERROR_NAMES = new Map(ERRORS.map((sig) => [toHex(selector(sig)), sig.slice(0, sig.indexOf("("))]));
export { FUNCTIONS, EVENTS };

/** ChainError and its kin: ProvenanceErrors, so that every chain check reports their code. */
const chainError = (message, code) => new ProvenanceError(message, code);

/** backends.rpc_errors: an answer a broken or lying node sent; its text is never quoted. */
const badAnswer = (kind) =>
  chainError(
    `the JSON-RPC node's answer is not well-formed (${kind}): the node is not believed`,
    "chain.bad-answer",
  );
const RECEIPT_FIELDS = ["blockHash", "blockNumber", "status", "to", "logs"];

class AnchorMismatch extends ProvenanceError {}

class RpcError extends PyError {
  constructor(error) {
    super("Web3RPCError", error?.message ?? JSON.stringify(error));
    this.error = error;
  }
}

/** A JSON-RPC request function over fetch. */
// The default looks fetch up when called: a detached window.fetch can throw Illegal invocation.
export function jsonRpc(url, { fetch: doFetch = (...args) => globalThis.fetch(...args) } = {}) {
  let id = 0;
  return async (method, params) => {
    let response;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      });
    } catch (e) {
      throw chainError(`JSON-RPC endpoint ${url} unreachable: ${e?.name ?? e}`, "chain.rpc-unavailable");
    }
    // backends.rpc_errors and jsonrpc.JsonRpc: a proxy's 502 in front of a node is a node not there
    if (!response.ok)
      throw chainError(`JSON-RPC endpoint ${url} answered HTTP ${response.status}`, "chain.rpc-unavailable");
    let body;
    try {
      body = await response.json();
    } catch {
      throw badAnswer("JSONDecodeError");
    }
    if (body.error !== undefined && body.error !== null) throw new RpcError(body.error);
    return body.result;
  };
}

// --- ABI words -------------------------------------------------------------------------------

const padding = (what) => new PyError("DecodingError", `non-empty padding bytes in ${what}`);

function decodeWord(type, word) {
  if (type === "bytes32") return word;
  if (type === "address") {
    if (word.subarray(0, 12).some((b) => b)) throw padding(type);
    return checksumAddress(hexStr(word.subarray(12)));
  }
  const value = bytesToBig(word);
  const bits = type === "bool" ? 1n : BigInt(type.slice(4) || 256);
  if (value >> bits) throw padding(type);
  return type === "bool" ? value === 1n : value;
}

function decodeWords(types, data, what) {
  if (data.length < 32 * types.length) throw new PyError("InsufficientDataBytes", `${what}: too little data`);
  return types.map((t, i) => decodeWord(t, data.subarray(32 * i, 32 * i + 32)));
}

function encodeWord(type, value) {
  if (type === "bytes32") return value;
  if (type === "address") return concat(new Uint8Array(12), fromHex(checksumAddress(value).slice(2)));
  return bigToBytes(big(value));
}

/** ABI-encoded arguments: static words in the head, a string's length and bytes in the tail. */
function encodeArgs(types, args) {
  const heads = [];
  const tails = [];
  let offset = 32 * types.length;
  types.forEach((t, i) => {
    if (t !== "string") {
      heads.push(encodeWord(t, args[i]));
      return;
    }
    const data = utf8(args[i]);
    const padded = concat(data, new Uint8Array((32 - (data.length % 32)) % 32));
    heads.push(bigToBytes(BigInt(offset)));
    tails.push(bigToBytes(BigInt(data.length)), padded);
    offset += 32 + padded.length;
  });
  return concat(...heads, ...tails);
}

const hexBytes = (text) => fromHex(String(text).replace(/^0x/, ""));

// --- the registry's reads --------------------------------------------------------------------

/** provenance.chain.registry.RegistryClient, reads only. */
export function registryReader(request, contract) {
  const address = checksumAddress(contract);
  async function call(name, types, args) {
    const [signature, outputs] = FUNCTIONS[name];
    const data = hexStr(concat(selector(signature), encodeArgs(types, args)));
    let result;
    try {
      result = await request("eth_call", [{ to: address, data }, "latest"]);
    } catch (e) {
      throw e instanceof RpcError ? classify(e.error) : e;
    }
    const raw = hexBytes(result);
    if (raw.length === 0 && outputs.length)
      await request("eth_getCode", [address, "latest"]).catch(asCallError);
    try {
      return decodeWords(outputs, raw, name);
    } catch (e) {
      throw e instanceof PyError ? badAnswer("BadFunctionCallOutput") : e;
    }
  }
  return {
    address,
    sourceStatus: async (signer) => Number((await call("sourceStatus", ["address"], [signer]))[0]),
    isAuthorizedSigner: async (id, signer) =>
      (await call("isAuthorizedSigner", ["bytes32", "address"], [id, signer]))[0],
    snapshotOf: (id, version) =>
      orNull("SnapshotNotFound", async () => {
        const [root, size, signer, blockNumber, retracted] = await call(
          "snapshotOf",
          ["bytes32", "uint64"],
          [id, version],
        );
        return { root, size, signer, blockNumber, retracted };
      }),
    latestCheckpoint: () =>
      orNull("NoCheckpoint", async () => {
        const [index, size, root] = await call("latestCheckpoint", [], []);
        return { index, size, root };
      }),
    isLogKey: async (key) => (await call("isLogKey", ["string"], [key]))[0],
    disputeCount: async (id, version, root) =>
      (await call("disputeCount", ["bytes32", "uint64", "bytes32"], [id, version, root]))[0],
    isRetracted: async (id, version, root) =>
      (await call("isRetracted", ["bytes32", "uint64", "bytes32"], [id, version, root]))[0],
    blockNumber: async () => BigInt(await request("eth_blockNumber", [])),
    receipt: async (txHash) => {
      const receipt = await request("eth_getTransactionReceipt", [hexStr(txHash)]);
      if (receipt === null || receipt === undefined) return receipt;
      if (!isDict(receipt) || !RECEIPT_FIELDS.every((k) => Object.hasOwn(receipt, k))) {
        throw chainError(
          "the JSON-RPC node's receipt lacks the fields of a receipt: the node is not believed",
          "chain.bad-answer",
        );
      }
      return receipt;
    },
    events: (name, receipt) => decodeEvents(name, receipt, address),
  };
}

// web3 asks for the contract's code when a call returns nothing (to say "is it deployed?"); a
// failure of that request is what the caller sees.
function asCallError(e) {
  if (e instanceof RpcError) throw chainError(`registry call failed: ${e.message}`, "chain.call-failed");
  throw e;
}

async function orNull(errorName, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e?.revert === errorName) return null;
    throw e;
  }
}

const ERROR_STRING = "0x08c379a0";
const OFFCHAIN_LOOKUP = "0x556f1830";
const PANIC = "0x4e487b71";

/** Transactor.call's reading of a failed eth_call, after web3's raise_contract_logic_error_on_revert. */
function classify(error) {
  if (error === null || typeof error !== "object") return new PyError("Web3ValueError", String(error));
  const { message } = error;
  const present = message !== undefined && message !== null && message !== "";
  const data = Object.hasOwn(error, "data") ? error.data : undefined;
  if (
    data === null ||
    (isDict(data) && present) ||
    (typeof data === "string" && data.startsWith("Reverted "))
  ) {
    return reverted(null, message);
  }
  if (typeof data === "string") {
    const head = data.slice(0, 10);
    if (head === OFFCHAIN_LOOKUP || head === PANIC || (data.length >= 10 && head !== ERROR_STRING))
      return reverted(data, message);
  }
  if (present && (error.code === 3 || String(message).includes("execution reverted")))
    return reverted(data, message);
  return chainError(`registry call failed: ${message}`, "chain.call-failed");
}

/** transactions._revert: the registry's custom error by its selector, else chain.revert. */
function reverted(data, message) {
  if (typeof data === "string" && data.startsWith("0x")) {
    const raw = fromHex(data.slice(2));
    const name = raw.length >= 4 ? ERROR_NAMES.get(toHex(raw.subarray(0, 4))) : undefined;
    if (name !== undefined) {
      const e = chainError(`ProvenanceRegistry refused: ${name}`, `chain.revert.${name}`);
      e.revert = name;
      return e;
    }
  }
  return chainError(`registry call reverted: ${message}`, "chain.revert");
}

/** Decoded events of the registry in a receipt (web3's process_receipt with DISCARD). */
function decodeEvents(name, receipt, address) {
  const [signature, inputs] = EVENTS[name];
  const topic0 = keccak256(utf8(signature));
  const out = [];
  for (const log of receipt.logs ?? []) {
    const topics = (log.topics ?? []).map(hexBytes);
    const indexed = inputs.filter(([, , isIndexed]) => isIndexed);
    if (!topics.length || !equal(topics[0], topic0) || topics.length - 1 !== indexed.length) continue;
    const data = inputs.filter(([, , isIndexed]) => !isIndexed);
    const raw = hexBytes(log.data ?? "0x");
    if (raw.length < 32 * data.length || topics.slice(1).some((t) => t.length < 32)) continue;
    const args = {};
    decodeWords(
      data.map(([, t]) => t),
      raw,
      name,
    ).forEach((v, i) => {
      args[data[i][0]] = v;
    });
    indexed.forEach(([n, t], i) => {
      args[n] = decodeWord(t, topics[i + 1].subarray(0, 32));
    });
    if (checksumAddress(log.address) === address) out.push(args);
  }
  return out;
}

// --- ChainVerifier ---------------------------------------------------------------------------

const bad = (name, reason, detail) => check(name, INVALID, reason, detail);

/** An AnchorReader over a JSON-RPC endpoint: rpcChain(url, {confirmations, fetch}). */
export function rpcChain(url, { confirmations = 1, fetch: doFetch, request } = {}) {
  const rpc = request ?? jsonRpc(url, doFetch ? { fetch: doFetch } : {});
  return { checkAnchor: (sections, checkpoint) => checkAnchor(rpc, confirmations, sections, checkpoint) };
}

async function checkAnchor(rpc, confirmations, sections, checkpoint) {
  const { anchor } = sections;
  const { domain } = sections.manifest;
  const chainId = BigInt(await rpc("eth_chainId", []));
  if (!numEq(anchor.chainId, chainId)) {
    throw new AnchorMismatch(
      `bundle is anchored on chain ${anchor.chainId}, the RPC serves ${chainId}`,
      "anchor.wrong-chain",
    );
  }
  if (
    !numEq(domain.chainId, anchor.chainId) ||
    domain.verifyingContract.toLowerCase() !== anchor.contract.toLowerCase()
  ) {
    throw new AnchorMismatch(
      "the manifest is signed for another chain or registry than it is anchored in",
      "anchor.domain-mismatch",
    );
  }
  const client = registryReader(rpc, anchor.contract);
  const source = await sourceStatus(client, sections);
  let receipt;
  try {
    receipt = await checkedReceipt(client, anchor);
  } catch (e) {
    if (!(e instanceof AnchorMismatch)) throw e;
    return {
      anchor: bad("anchor", e.code, e.message),
      confirmations: bad("confirmations", "confirmations.no-anchor", e.message),
      sourceStatus: source,
    };
  }
  const anchorCheck =
    anchor.mode === "direct"
      ? await direct(client, sections, receipt)
      : await checkpointAnchor(client, checkpoint, receipt, anchor.checkpointIndex);
  let checked = anchorCheck;
  if (checked.status === VALID && sections.log !== null && sections.log !== undefined)
    checked = await logKeyVouched(client, sections.log.logKey, checked);
  if (checked.status === VALID && anchor.mode !== "direct") checked = await notRetracted(client, sections, checked);
  const disputes = checked.status === VALID ? await disputesOf(client, sections) : null;
  return {
    anchor: checked,
    confirmations: await confirmationsOf(client, anchor.blockNumber, confirmations),
    sourceStatus: source,
    disputes,
  };
}

async function checkedReceipt(client, anchor) {
  const receipt = await client.receipt(anchor.txHash);
  if (receipt === null || receipt === undefined) {
    throw new AnchorMismatch(
      `transaction ${hexStr(anchor.txHash)} is not on the chain (dropped by a reorg, or never mined)`,
      "anchor.tx-not-found",
    );
  }
  if (
    !equal(hexBytes(receipt.blockHash), anchor.blockHash) ||
    !numEq(BigInt(receipt.blockNumber), anchor.blockNumber)
  ) {
    throw new AnchorMismatch(
      `transaction is in block ${BigInt(receipt.blockNumber)} ${receipt.blockHash}, not block ${anchor.blockNumber}`,
      "anchor.block-mismatch",
    );
  }
  const to = receipt.to ? checksumAddress(receipt.to) : "";
  if (Number(BigInt(receipt.status)) !== 1 || to.toLowerCase() !== anchor.contract.toLowerCase()) {
    throw new AnchorMismatch("the transaction failed or did not call the registry", "anchor.bad-transaction");
  }
  return receipt;
}

async function direct(client, sections, receipt) {
  const m = sections.manifest.manifest;
  const record = await client.snapshotOf(manifestDatasetId(m), m.version);
  if (record === null)
    return bad("anchor", "anchor.not-found", `${m.dataset} v${m.version} is not anchored in the registry`);
  if (!equal(record.root, m.root) || !numEq(record.size, m.size)) {
    return bad(
      "anchor",
      "anchor.root-mismatch",
      `the registry holds root ${toHex(record.root)} size ${record.size} for this version`,
    );
  }
  if (record.signer.toLowerCase() !== sections.manifest.signer.toLowerCase()) {
    return bad("anchor", "anchor.signer-mismatch", `the registry recorded signer ${record.signer}`);
  }
  if (record.retracted)
    return bad("anchor", "anchor.retracted", `${m.dataset} v${m.version} was retracted by its source`);
  const digest = manifestDigest(m, sections.manifest.domain);
  const id = manifestDatasetId(m);
  const events = client.events("SnapshotAnchored", receipt);
  if (!events.some((e) => equal(e.datasetId, id) && numEq(e.version, m.version) && equal(e.digest, digest))) {
    return bad("anchor", "anchor.event-missing", "the transaction did not anchor this manifest");
  }
  return check(
    "anchor",
    VALID,
    "",
    `direct: registry ${client.address} holds the root since block ${record.blockNumber}`,
  );
}

async function checkpointAnchor(client, checkpoint, receipt, index) {
  if (checkpoint === null)
    return bad("anchor", "anchor.no-checkpoint", "checkpoint mode needs a verified checkpoint");
  const sizes = client.events("CheckpointAnchored", receipt).filter((e) => numEq(e.size, checkpoint.size));
  if (!sizes.length)
    return bad("anchor", "anchor.event-missing", "the transaction did not anchor this checkpoint");
  const event = sizes.find((e) => equal(e.root, checkpoint.root));
  if (event === undefined) {
    return bad(
      "anchor",
      "anchor.root-mismatch",
      `the registry anchored root ${toHex(sizes[0].root)} for log size ${checkpoint.size}`,
    );
  }
  if (index !== null && !numEq(event.index, index)) {
    return bad(
      "anchor",
      "anchor.index-mismatch",
      `the registry anchored log size ${checkpoint.size} as checkpoint ${event.index}, not ${index}`,
    );
  }
  const latest = await client.latestCheckpoint();
  if (latest === null || latest.size < big(checkpoint.size)) {
    return bad(
      "anchor",
      "anchor.not-found",
      `the registry's latest checkpoint is below log size ${checkpoint.size}`,
    );
  }
  return check(
    "anchor",
    VALID,
    "",
    `checkpoint: registry ${client.address} anchored log size ${checkpoint.size} as checkpoint ${event.index} (its latest checkpoint: size ${latest.size})`,
  );
}

// verifier.py _disputes: anyone may dispute a snapshot on-chain; a warning, never a failure.
async function disputesOf(client, sections) {
  const m = sections.manifest.manifest;
  const count = await client.disputeCount(manifestDatasetId(m), m.version, m.root);
  if (count === 0n) return null;
  return check(
    "disputes",
    WARNING,
    "anchor.disputed",
    `${m.dataset} v${m.version} has ${count} dispute(s) on-chain (SnapshotDisputed events, with their reasons and evidence): a warning; the verdict stands`,
  );
}

// verifier.py _not_retracted: a checkpoint-mode snapshot's retraction (retractLogged).
async function notRetracted(client, sections, anchorCheck) {
  const m = sections.manifest.manifest;
  if (await client.isRetracted(manifestDatasetId(m), m.version, m.root))
    return bad("anchor", "anchor.retracted", `${m.dataset} v${m.version} was retracted by its source`);
  return anchorCheck;
}

// The chain, not the bundle, is where a verifier pins the log key (verifier.py _log_key).
async function logKeyVouched(client, key, anchorCheck) {
  const name = key.split("+")[0];
  if (!(await client.isLogKey(key))) {
    return bad(
      "anchor",
      "anchor.log-key-unknown",
      `the registry does not vouch for log key ${name}: the checkpoint is not the ledger's`,
    );
  }
  return check("anchor", VALID, "", `${anchorCheck.detail}; log key ${name} is vouched for by the registry`);
}

async function confirmationsOf(client, blockNumber, required) {
  const head = await client.blockNumber();
  const depth = head - big(blockNumber) + 1n;
  if (depth < 1n) {
    return bad(
      "confirmations",
      "confirmations.inconsistent-node",
      `the node's head block ${head} is below the anchoring block ${blockNumber} it served a receipt for: the node contradicts itself and is not believed`,
    );
  }
  if (depth >= BigInt(required))
    return check("confirmations", VALID, "", `${depth} confirmations (required ${required})`);
  return check("confirmations", PENDING, "confirmations.pending", `${depth} of ${required} confirmations`);
}

async function sourceStatus(client, sections) {
  const { signer } = sections.manifest;
  const status = await client.sourceStatus(signer);
  if (status === 2) return bad("source-status", "source-status.revoked", `source ${signer} is revoked`);
  if (status === 1) return check("source-status", VALID, "", `source ${signer} is active`);
  if (await client.isAuthorizedSigner(manifestDatasetId(sections.manifest.manifest), signer)) {
    return check("source-status", VALID, "", `${signer} is an authorised signer of the dataset`);
  }
  return bad("source-status", "source-status.unregistered", `${signer} is not a registered source`);
}
