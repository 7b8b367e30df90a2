"""OpenLineage run events of a lineage collection: one COMPLETE run event per snapshot.

The job is the snapshot's transform (or the source's publication); inputs are the parent
snapshots, the output is the snapshot, each with the ``datasetVersion`` and ``schema`` facets; the
output's ``lineage`` facet names its inputs (its records' refs pin the exact upstream records);
and the custom ``provenanceLedger`` facet carries the root, size, signer, manifest digest, anchor
and the records' refs, so a lineage consumer can check the event against the chain.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from provenance.exports.graph import RecordNode, SnapshotNode, read

PRODUCER = "https://provenance-ledger.invalid/openlineage"
CUSTOM_FACET = "provenanceLedger"


def run_events(doc: dict[str, Any], namespace: str = "provenance-ledger") -> list[Any]:
    """The ``RunEvent`` objects of a collection document (for an OpenLineage client to emit)."""
    snapshots, records = read(doc)
    return [_event(snap, records, namespace) for snap in snapshots]


def to_openlineage(doc: dict[str, Any], namespace: str = "provenance-ledger") -> list[dict[str, Any]]:
    """The run events in the OpenLineage JSON form."""
    from openlineage.client.serde import Serde

    return [Serde.to_dict(e) for e in run_events(doc, namespace)]


def _event(snap: SnapshotNode, records: list[RecordNode], namespace: str) -> Any:
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

    m = snap.manifest
    transform = m["transform"]
    parents = [
        InputDataset(namespace, p.get("dataset", p["datasetId"]), facets=_version(p["version"]))
        for p in m["parents"]
    ]
    output = OutputDataset(namespace, snap.dataset, facets=_output_facets(snap, records, namespace))
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.fromtimestamp(m["createdAt"], UTC).isoformat(),
        producer=PRODUCER,
        run=Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{snap.id}:{m['root']}"))),
        job=Job(namespace, transform["name"] if transform else f"publish/{snap.dataset}"),
        inputs=parents,
        outputs=[output],
    )


def _version(version: int) -> dict[str, Any]:
    from openlineage.client.facet_v2 import dataset_version_dataset

    return {"version": dataset_version_dataset.DatasetVersionDatasetFacet(str(version), producer=PRODUCER)}


def _output_facets(snap: SnapshotNode, records: list[RecordNode], namespace: str) -> dict[str, Any]:
    from openlineage.client.facet_v2 import schema_dataset
    from openlineage.client.generated import lineage

    m = snap.manifest
    schema = m["schema"]
    fields = [schema_dataset.SchemaDatasetFacetFields(name=k, type="key") for k in schema["key"]]
    fields += [
        schema_dataset.SchemaDatasetFacetFields(name=c, type=t) for c, t in sorted(schema["columns"].items())
    ]
    how = lineage.LineageTransformation(
        type="INDIRECT", description="record refs pinned by upstream leaf hash"
    )
    inputs: list[lineage.LineageDatasetInput | lineage.LineageJobInput] = [
        lineage.LineageDatasetInput(
            namespace, p.get("dataset", p["datasetId"]), "DATASET", transformations=[how]
        )
        for p in m["parents"]
    ]
    facets: dict[str, Any] = {
        **_version(snap.version),
        "schema": schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER),
        CUSTOM_FACET: _custom(snap, records),
    }
    if inputs:
        facets["lineage"] = lineage.LineageDatasetFacet(inputs=inputs, producer=PRODUCER)
    return facets


def _custom(snap: SnapshotNode, records: list[RecordNode]) -> Any:
    mine = [r for r in records if r.snapshot is snap]
    return _facet_class()(
        root=snap.manifest["root"],
        size=snap.manifest["size"],
        signer=snap.signer,
        manifestDigest=snap.digest,
        anchor=snap.anchor,
        records=[{"key": r.key, "leaf": r.leaf, "derivedFrom": r.refs} for r in mine],
        producer=PRODUCER,
    )


_FACET: Any = None


def _facet_class() -> Any:
    """The custom dataset facet (an attrs subclass of DatasetFacet, as OpenLineage prescribes)."""
    global _FACET
    if _FACET is None:
        import attr
        from openlineage.client.facet_v2 import DatasetFacet

        @attr.define
        class ProvenanceLedgerDatasetFacet(DatasetFacet):
            root: str = attr.field(kw_only=True)
            size: int = attr.field(kw_only=True)
            signer: str = attr.field(kw_only=True)
            manifestDigest: str | None = attr.field(kw_only=True)  # noqa: N815 - OpenLineage field name
            anchor: dict[str, Any] | None = attr.field(kw_only=True)
            records: list[dict[str, Any]] = attr.field(kw_only=True)

            @staticmethod
            def _get_schema() -> str:
                return "https://provenance-ledger.invalid/schemas/openlineage-provenance-facet.json"

        _FACET = ProvenanceLedgerDatasetFacet
    return _FACET
