#!/usr/bin/env node
// Compiles contracts/ProvenanceRegistry.sol offline with the pinned npm `solc` (solc-js) and
// writes the artifact that ships inside the Python package.
//
//   node scripts/compile.js           write provenance/chain/artifacts/ProvenanceRegistry.json
//   node scripts/compile.js --check   recompile in memory; exit 1 if the committed artifact differs
//
// The output is deterministic: same sources + same compiler + same settings give a byte-identical
// file (keys sorted, 2-space indent, trailing newline). hardhat.config.js imports SETTINGS from here
// so both toolchains compile with the same settings.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const CONTRACT_NAME = "ProvenanceRegistry";
const SOURCE = "contracts/ProvenanceRegistry.sol";
const ARTIFACT = "provenance/chain/artifacts/ProvenanceRegistry.json";
const SOLC_VERSION = "0.8.28";
// Import roots, in lookup order. Source unit names stay the import paths themselves
// ("@openzeppelin/contracts/..."), as Hardhat names them, so the metadata matches.
const IMPORT_ROOTS = [ROOT, path.join(ROOT, "node_modules")];

const SETTINGS = Object.freeze({
  // evmVersion "prague": py-evm (eth-tester) and anvil 1.7.1 (default hardfork "latest") both run
  // Prague or later; nothing in the contract needs an opcode newer than Cancun's MCOPY.
  evmVersion: "prague",
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  outputSelection: {
    "*": {
      "*": [
        "abi",
        "evm.bytecode.object",
        "evm.deployedBytecode.object",
        "evm.deployedBytecode.immutableReferences",
      ],
    },
  },
});

/** Reads an imported source from the project or node_modules, refusing paths that escape them. */
function findImport(importPath) {
  for (const base of IMPORT_ROOTS) {
    const full = path.resolve(base, importPath);
    if (!full.startsWith(base + path.sep)) continue;
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  }
  return { error: `File not found in project or node_modules: ${importPath}` };
}

function loadSolc() {
  const solc = require("solc");
  if (!solc.version().startsWith(SOLC_VERSION + "+")) {
    throw new Error(`solc ${SOLC_VERSION} expected, found ${solc.version()} (run npm ci)`);
  }
  return solc;
}

/** Compiles the contract and returns the artifact object. Throws on any compiler error. */
function buildArtifact() {
  const solc = loadSolc();
  const sourceBytes = fs.readFileSync(path.join(ROOT, SOURCE));
  const input = {
    language: "Solidity",
    sources: { [SOURCE]: { content: sourceBytes.toString("utf8") } },
    settings: SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const diagnostics = output.errors || [];
  for (const d of diagnostics) {
    if (d.severity !== "error") process.stderr.write(d.formattedMessage + "\n");
  }
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) {
    throw new Error("compilation failed:\n" + errors.map((e) => e.formattedMessage).join("\n"));
  }
  const contract = output.contracts[SOURCE][CONTRACT_NAME];
  return {
    abi: contract.abi,
    bytecode: "0x" + contract.evm.bytecode.object,
    compiler: { name: "solc-js", version: solc.version() },
    contractName: CONTRACT_NAME,
    deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
    // Byte ranges of deployedBytecode that the constructor fills in (EIP712's cached domain
    // separator, chain id, address): provenance.chain.artifact masks them to match on-chain code.
    immutableReferences: contract.evm.deployedBytecode.immutableReferences || {},
    settings: SETTINGS,
    sourceHash: crypto.createHash("sha256").update(sourceBytes).digest("hex"),
    sources: Object.keys(output.sources).sort(),
  };
}

/** JSON with recursively sorted object keys, 2-space indent and a trailing newline. */
function canonicalJson(value) {
  const sortKeys = (v) => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortKeys(v[k])])
      );
    }
    return v;
  };
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

function check() {
  const file = path.join(ROOT, ARTIFACT);
  if (!fs.existsSync(file)) {
    console.error(`${ARTIFACT} is missing: run npm run compile`);
    return 1;
  }
  const committed = JSON.parse(fs.readFileSync(file, "utf8"));
  const fresh = buildArtifact();
  const differing = Object.keys({ ...committed, ...fresh })
    .sort()
    .filter((k) => canonicalJson(committed[k] ?? null) !== canonicalJson(fresh[k] ?? null));
  if (differing.length > 0) {
    console.error(
      `${ARTIFACT} is stale: ${differing.join(", ")} differ from a fresh compile; run npm run compile`
    );
    return 1;
  }
  if (fs.readFileSync(file, "utf8") !== canonicalJson(fresh)) {
    console.error(`${ARTIFACT} is not in canonical form; run npm run compile`);
    return 1;
  }
  console.log(`${ARTIFACT} matches a fresh compile (${fresh.compiler.version})`);
  return 0;
}

function write() {
  const artifact = buildArtifact();
  const file = path.join(ROOT, ARTIFACT);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, canonicalJson(artifact));
  const size = (artifact.deployedBytecode.length - 2) / 2;
  console.log(`wrote ${ARTIFACT} (deployed code ${size} bytes, ${artifact.compiler.version})`);
  return 0;
}

module.exports = { SETTINGS, SOLC_VERSION, SOURCE, buildArtifact, canonicalJson };

if (require.main === module) {
  try {
    process.exitCode = process.argv.includes("--check") ? check() : write();
  } catch (err) {
    console.error(err.message);
    process.exitCode = 1;
  }
}
