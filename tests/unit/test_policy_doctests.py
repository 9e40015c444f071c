"""The doctests of ``serving.policy`` run as unit tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "serving.policy.actions",
    "serving.policy.candidates",
    "serving.policy.exploration",
    "serving.policy.replay",
    "serving.policy.state",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
