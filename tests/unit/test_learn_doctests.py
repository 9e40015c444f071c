"""The doctests of ``serving.learning`` run as unit tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["serving.learning.join", "serving.learning.learner"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
