"""Shared by the offline-learning tests: torch on one thread while a test runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One-decision optimiser steps run fastest on one thread (and do not fight other processes for the cores);
    imported by a test module, it applies to each of its tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
