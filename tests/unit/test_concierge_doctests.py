"""The doctests of the concierge modules run as unit tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "serving.concierge.catalogue",
    "serving.concierge.constraints",
    "serving.concierge.dialogue",
    "serving.concierge.embedding",
    "serving.concierge.grounding",
    "serving.concierge.offer",
    "serving.concierge.prompt",
    "serving.concierge.reply",
    "serving.concierge.retrieval",
    "serving.concierge.router",
    "serving.concierge.templates",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
