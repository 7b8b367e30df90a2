"""Dataset names and ids: ``datasetId = keccak256(utf8(name))``, names matching
``^[a-z0-9][a-z0-9._/-]{0,127}$`` (e.g. ``tm/ratings/daily``)."""

from __future__ import annotations

import re

from provenance.errors import FormatError
from provenance.evm import keccak256

_NAME = re.compile(r"[a-z0-9][a-z0-9._/-]{0,127}")


def check_dataset_name(name: str) -> str:
    """Refuse names outside ``^[a-z0-9][a-z0-9._/-]{0,127}$``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FormatError(
            f"dataset name {name!r} must match ^[a-z0-9][a-z0-9._/-]{{0,127}}$",
            code="manifest.bad-dataset-name",
        )
    return name


def dataset_id(name: str) -> bytes:
    """``keccak256(utf8(name))``."""
    return keccak256(check_dataset_name(name).encode())
