"""Crash points: the named steps of ingest and anchoring where the fault suite kills the process.

A kill -9 at a random moment rarely lands between two particular writes; these names let the
suite (tests/integration/http/test_crash_points.py) kill the service exactly there, one step after
another, and then require that a restart loses nothing committed and anchors nothing twice.

Inert unless ``PROVENANCE_CRASH_POINT`` names a point: the variable is read once, and a step
costs one string comparison. Never set it on a service that holds data you care about.
"""

from __future__ import annotations

import os
import signal

#: Every point, in the order a snapshot passes them: ingest, then its anchor (direct mode) or
#: the checkpoint that covers it (checkpoint mode), then the anchoring transaction's steps.
POINTS = (
    "ingest.begun",  # the version's row exists, in state building
    "ingest.records-written",  # every record and the tree stored, nothing signed
    "ingest.signed",  # the manifest signed and checked, not yet in the log
    "ingest.completed",  # committed and logged; the client has not had its answer
    "checkpoint.cut",  # a checkpoint signed and stored, its anchor queued
    "anchor.signed",  # the transaction signed and stored, not broadcast
    "anchor.broadcast",  # broadcast, the row not yet marked sent
    "anchor.mined",  # the receipt recorded, not yet confirmed
)

_ARMED = os.environ.get("PROVENANCE_CRASH_POINT", "")


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup, if the suite armed ``name``."""
    if _ARMED and name == _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
