"""Lineage in the vocabularies other tools read: W3C PROV-JSON and OpenLineage run events. Both
are made from a ``provenance-proofs/v1`` collection, so what is exported is what verifies; they
need the ``[export]`` extra (``prov``, ``openlineage-python``)."""
