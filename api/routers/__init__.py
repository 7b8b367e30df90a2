"""One router per resource; each talks to the ledger only (``api.deps.LedgerDep``)."""
