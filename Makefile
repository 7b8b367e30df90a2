# Every target works on a fresh clone: `make setup` builds everything a machine needs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export XDG_CACHE_HOME  := $(CURDIR)/.cache/xdg-cache
export XDG_CONFIG_HOME := $(CURDIR)/.cache/xdg-config
export XDG_DATA_HOME   := $(CURDIR)/.cache/xdg-data

.PHONY: deployment bench-load setup run demo demo-pipeline bench-lineage bench-check bench-console bench-tail bench-quality test test-fast lint typecheck bench bench-service clean compile gas slither

setup: $(STAMP) node_modules/.installed api/static/audit/app.js

$(STAMP): pyproject.toml setup.py provenance/_sha256.c
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q --no-build-isolation -e ".[dev]"
	$(BIN)/python -c "import provenance.merkle as m; assert m.NATIVE, 'native hasher not built'"
	touch $@

node_modules/.installed: $(wildcard package.json package-lock.json)
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	mkdir -p node_modules && touch $@

# The audit console: web/ bundled by esbuild (from node_modules; nothing fetched at run time).
api/static/audit/app.js: node_modules/.installed scripts/build_web.mjs web/audit.html $(shell find web/src -type f 2>/dev/null)
	node scripts/build_web.mjs

# The ledger on embedded defaults: SQLite and a managed anvil node, state under .data/.
export PROVENANCE_DATA_DIR ?= $(CURDIR)/.data
run: setup
	$(BIN)/provenance serve

# The publishers' pipeline (prices, on-chain metrics -> ratings -> index) against `make run`.
demo-pipeline: setup
	$(BIN)/python scripts/demo_pipeline.py --rpc-url http://127.0.0.1:$${PROVENANCE_ANVIL_PORT:-8545} $(ARGS)

# The offline CLI walk-through (build, sign, prove, verify) on the sample data.
demo: setup
	$(BIN)/python scripts/demo.py

test: setup
	scripts/ensure_chromium.sh
	$(BIN)/ruff check provenance api tests scripts
	$(BIN)/mypy
	npx --no-install solhint 'contracts/**/*.sol'
	scripts/slither.sh
	$(BIN)/pytest -q --durations=25

test-fast: setup
	$(BIN)/pytest -q -m "not slow"

lint:
	$(BIN)/ruff check provenance api tests scripts
	npx --no-install solhint 'contracts/**/*.sol'

compile: node_modules/.installed
	node scripts/compile.js

# Slither on the Hardhat build, with the reviewed findings in slither.db.json (see the README).
slither: node_modules/.installed
	scripts/slither.sh

gas: setup
	$(BIN)/python scripts/gas_report.py

typecheck:
	$(BIN)/mypy

# The benchmark peers live in their own venv: merkletools cannot be a dependency (its pysha3
# requirement does not build on Python 3.11), so it is installed there with --no-deps.
BENCH := .cache/bench-venv
bench: setup
	test -d $(BENCH) || $(PY) -m venv $(BENCH)
	$(BENCH)/bin/pip install -q --upgrade pip setuptools wheel
	$(BENCH)/bin/pip install -q --no-build-isolation -e . pymerkle==7.0.0 psutil
	$(BENCH)/bin/pip install -q --no-deps merkletools==1.0.3
	$(BENCH)/bin/python scripts/bench_core.py

# Proof latency on a 10M-record snapshot and a 1M-record upload, over HTTP. The load generator
# is wrk from Debian's packages, in its own process (installed here when missing).
bench-service: setup
	command -v wrk >/dev/null || (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))
	$(BIN)/python scripts/bench_service.py

# Lineage under load (one index weight's lineage over HTTP, wrk), its verification, a 1M-record
# derived upload with one ref per record.
bench-lineage: setup
	command -v wrk >/dev/null || (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))
	$(BIN)/python scripts/bench_lineage.py

# The CI gate on a 1M-record CSV against a directly anchored snapshot on a local anvil node.
bench-check: setup
	$(BIN)/python scripts/bench_check.py

# A 1M-record ingest with six data-quality rules against the same ingest without them (#12).
bench-quality: setup
	$(BIN)/python scripts/bench_quality.py

# The console verifying a bundle from a 10M-record snapshot in Debian's chromium, against anvil.
bench-console: setup
	scripts/ensure_chromium.sh
	$(BIN)/python scripts/bench_console.py

# Proof latency on `make run`'s defaults, idle and during a 1M-record upload (#11 defect 12).
# The production layout on one machine: PostgreSQL, 3 API processes on one port, one leader-locked
# anchoring worker, anvil (docs/deploy.md).
deployment: setup
	$(BIN)/python scripts/deployment.py $(ARGS)

# Proof latency on that layout, PostgreSQL beside SQLite, against connections and snapshot size,
# plotted to docs/load.png (matplotlib, the [plot] extra, installed here).
bench-load: setup
	command -v wrk >/dev/null || (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))
	$(BIN)/pip install -q --no-build-isolation -e ".[dev,plot]"
	$(BIN)/python scripts/bench_load.py $(ARGS)

bench-tail: setup
	command -v wrk >/dev/null || (apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk))
	$(BIN)/python scripts/bench_tail.py

clean:
	rm -rf $(VENV) node_modules build .cache .data
