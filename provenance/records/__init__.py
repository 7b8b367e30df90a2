"""Records: the dataset schema, canonical entries and streaming file readers (docs/ARCHITECTURE.md)."""

from provenance.records.canonical import canonical, entry_bytes, key_text, record_salt
from provenance.records.schema import Schema

__all__ = ["Schema", "canonical", "entry_bytes", "key_text", "record_salt"]
