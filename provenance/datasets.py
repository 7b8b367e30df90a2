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


def check_new_dataset_name(name: str) -> str:
    """A name a new dataset may take: :func:`check_dataset_name`, and no ``.``, ``..`` or empty
    path segment, which a client or proxy that normalises URL paths would resolve to another
    dataset (names already signed keep verifying: the manifest format is unchanged).

    Raises:
        FormatError: ``dataset.bad-name``.
    """
    check_dataset_name(name)
    bad = [seg for seg in name.split("/") if seg in ("", ".", "..")]
    if bad:
        raise FormatError(
            f"dataset name {name!r} has a {bad[0] or 'empty'!r} path segment; segments must be non-empty "
            "and not . or ..",
            code="dataset.bad-name",
        )
    return name


def dataset_id(name: str) -> bytes:
    """``keccak256(utf8(name))``."""
    return keccak256(check_dataset_name(name).encode())
