"""The doctests in the schemas package run as unit tests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import schemas

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(schemas.__path__, "schemas.") if info.name != "schemas.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_helpers_have_doctests() -> None:
    finder = doctest.DocTestFinder()
    counted = {name: sum(len(t.examples) for t in finder.find(importlib.import_module(name))) for name in MODULES}
    assert all(counted[name] > 0 for name in ("schemas.codec", "schemas.deadletter", "schemas.rewards"))
