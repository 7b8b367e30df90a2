"""A ledger whose development source was revoked through the API still starts (found by the
schemathesis run, whose DELETE /v1/sources/{address} revoked it: every later start failed with
source.revoked, and `make run` could never start again on that data directory)."""

from __future__ import annotations

from pathlib import Path

from provenance.config import Settings
from provenance.server.bootstrap import DEV_SOURCE, open_service


def test_a_revoked_development_source_does_not_stop_the_next_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, chain_backend="embedded", key_password="test-password-1")
    first = open_service(settings)
    address = first.ledger.source_address(DEV_SOURCE)
    first.ledger.revoke_source(address)
    first.close()
    second = open_service(settings)
    try:
        assert any("is revoked" in note and address in note for note in second.notes), second.notes
        assert [s.status for s in second.ledger.list_sources() if s.address == address] == ["revoked"]
    finally:
        second.close()
