"""Test data: RFC 9162 vectors (Apache-2.0, see rfc9162/LICENSE), golden files."""

from pathlib import Path

VECTORS = Path(__file__).parent
