"""The doctests of the streams layer and the composition root run as unit tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "streams.dedup",
    "streams.provenance",
    "streams.health",
    "streams.deadletters",
    "kairos.settings",
    "featurestore.hot",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
