"""Data-quality rules of a dataset's signed schema, their evaluation at ingest and the report."""
