"""The doctests of ``streams.attribution`` run as unit tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "streams.attribution.attributor",
    "streams.attribution.config",
    "streams.attribution.emit",
    "streams.attribution.feedback",
    "streams.attribution.outcomes",
    "streams.attribution.store",
    "streams.attribution.tally",
    "streams.attribution.visits",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
