"""Prometheus metrics of the service (one registry per app, so tests can build several apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "provenance_http_requests_total", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "provenance_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5, 30),
            registry=self.registry,
        )
        self.records = Counter(
            "provenance_ingested_records_total", "Records ingested", registry=self.registry
        )
        self.proofs = Counter("provenance_proofs_total", "Proof bundles served", registry=self.registry)
        self.verifications = Counter(
            "provenance_verifications_total", "Bundles verified", ["status"], registry=self.registry
        )
        self.anchors = Gauge("provenance_anchors", "Anchors by state", ["state"], registry=self.registry)
        self.log_size = Gauge("provenance_log_size", "Ledger log entries", registry=self.registry)
