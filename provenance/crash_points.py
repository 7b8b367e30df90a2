"""Crash points: the named steps of ingest and anchoring where the fault suite kills the process.

A kill -9 at a random moment rarely lands between two particular writes; these names let the
suite (tests/integration/http/test_crash_points.py) kill the service exactly there, one step after
another, and then require that a restart loses nothing committed and anchors nothing twice.

Inert unless ``PROVENANCE_CRASH_POINT_FILE`` names a file: a step then reads it, and when it
holds the step's name the process removes it and dies. The suite arms the next point while the
service runs, so one start serves the recovery from one crash and the run up to the next (a
start costs seconds, and the loop is eight crashes long). Never set it on a service that holds
data you care about.
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

_ARM_FILE = os.environ.get("PROVENANCE_CRASH_POINT_FILE", "")


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup, if the suite armed ``name``."""
    if not _ARM_FILE:
        return
    try:
        with open(_ARM_FILE) as f:
            armed = f.read().strip()
    except OSError:
        return
    if armed == name:
        os.unlink(_ARM_FILE)  # once: the restarted service must not die here again
        os.kill(os.getpid(), signal.SIGKILL)
