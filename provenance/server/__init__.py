"""The ledger service (`pip install provenance-ledger[server]`): the application service, the
anchoring worker, bootstrap from settings, and the SQL store. Nothing in the core imports it."""
