"""Dataset names: what a new dataset may be called (#11 defect 10)."""

from __future__ import annotations

import pytest

from provenance.datasets import check_dataset_name, check_new_dataset_name
from provenance.errors import FormatError


@pytest.mark.parametrize("name", ["probe/../probe/a", "a//b", "a/./b", "a/", "a/..", "a/."])
def test_dot_and_empty_segments_are_refused_for_new_datasets(name: str) -> None:
    with pytest.raises(FormatError) as e:
        check_new_dataset_name(name)
    assert e.value.code == "dataset.bad-name"
    check_dataset_name(name)  # an existing signed manifest with such a name still parses


@pytest.mark.parametrize("name", ["tm/prices/daily", "a..b/c", "v1.2/x", "a"])
def test_ordinary_names_are_fine(name: str) -> None:
    assert check_new_dataset_name(name) == name
