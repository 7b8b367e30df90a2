#!/usr/bin/env bash
# Static analysis of the contract with Slither (PyPI), offline, on the Hardhat build output.
#
# Slither lives in its own venv: it pins web3 7 and solc-select, which must not meet the
# project's own pins. It reads Hardhat's artifacts (compiled by the npm solc: no compiler
# download), so nothing here needs the network beyond PyPI for the first install.
#
# slither.db.json is the triage database: the findings reviewed and hidden, each for a reason
# recorded in the README (Contract, static analysis). A new finding, or a reviewed one whose
# code moved, fails this script until it is fixed or reviewed again (`--triage-mode`).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.cache/slither-venv
if [ ! -x "$VENV/bin/slither" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q slither-analyzer==0.11.6 crytic-compile==0.4.2 web3==7.16.0 solc-select==1.2.0
fi
export XDG_CACHE_HOME="$PWD/.cache/xdg/cache" XDG_CONFIG_HOME="$PWD/.cache/xdg/config" \
    XDG_DATA_HOME="$PWD/.cache/xdg/data" HARDHAT_DISABLE_TELEMETRY_PROMPT=true
# Clean first: after a contract edit Hardhat keeps the old build-info beside the new one, and
# Slither would analyse (and report) both versions.
npx --no-install hardhat clean
npx --no-install hardhat compile --quiet
exec "$VENV/bin/slither" . \
    --compile-force-framework hardhat --hardhat-ignore-compile \
    --hardhat-artifacts-directory build/hardhat/artifacts \
    --hardhat-cache-directory build/hardhat/cache \
    --filter-paths node_modules --fail-pedantic "$@"
