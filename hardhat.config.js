// Hardhat 2 configuration for Solidity developers: `npx hardhat compile` and `npx hardhat node`.
//
// The shipped artifact is built by scripts/compile.js; this config compiles the same source with
// the same pinned npm compiler (solc-js) and the same settings, fully offline: the subtask below
// hands Hardhat the local soljson.js instead of letting it download a compiler (HH502 offline).
// Hardhat writes its global cache/config under XDG_* (env-paths); the npm scripts point them at
// the project-local .cache/ directory.
"use strict";

const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");
const { SETTINGS, SOLC_VERSION } = require("./scripts/compile.js");

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  const solc = require("solc");
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  if (solcVersion !== SOLC_VERSION || !longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`only the pinned npm solc ${SOLC_VERSION} is available offline (asked for ${solcVersion})`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: solcVersion,
    longVersion,
  };
});

// Same optimizer / EVM settings as scripts/compile.js; Hardhat sets its own outputSelection.
const { outputSelection: _unused, ...compilerSettings } = JSON.parse(JSON.stringify(SETTINGS));

/** @type {import('hardhat/config').HardhatUserConfig} */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: compilerSettings,
  },
  paths: {
    sources: "./contracts",
    cache: "./build/hardhat/cache",
    artifacts: "./build/hardhat/artifacts",
  },
  networks: {
    hardhat: {
      // Same fork as the compile target and py-evm.
      hardfork: "prague",
    },
  },
};
