"""HTTP API (FastAPI) over the provenance core. Built in the ledger-service issue."""
