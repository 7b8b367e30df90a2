"""Verifiable dataset snapshots: RFC 9162 trees, signed manifests, on-chain anchors."""

__version__ = "0.1.0"
