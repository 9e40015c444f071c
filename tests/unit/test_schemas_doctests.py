"""The schemas helpers keep doctested examples (pytest --doctest-modules runs them with the suite)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import schemas

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(schemas.__path__, "schemas.") if info.name != "schemas.__main__"
)


def test_the_helpers_have_doctests() -> None:
    finder = doctest.DocTestFinder()
    counted = {name: sum(len(t.examples) for t in finder.find(importlib.import_module(name))) for name in MODULES}
    assert all(counted[name] > 0 for name in ("schemas.codec", "schemas.deadletter", "schemas.rewards"))
