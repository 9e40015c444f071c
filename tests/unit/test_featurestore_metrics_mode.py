"""Importing the feature store (Feast) leaves prometheus_client in-process: no multiprocess directory in the
environment, and metric values held in memory."""

from __future__ import annotations

import os

from prometheus_client import values

import featurestore  # noqa: F401  (the import under test)


def test_feast_does_not_switch_the_process_to_multiprocess_metrics() -> None:
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert "PROMETHEUS_MULTIPROCESS_DIR" not in os.environ
    assert values.ValueClass is values.MutexValue
