"""Proof formats and their verification (pure: no store, chain or web code)."""
