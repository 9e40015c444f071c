"""A throwaway broker for one benchmark run, so the anchor and Kairos are measured on the same broker."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from streams.broker import BrokerProcess, free_port, start_broker
from streams.config import BrokerConfig

__all__ = ["bench_broker"]


@contextlib.contextmanager
def bench_broker() -> Iterator[BrokerProcess]:
    """Start Tansu on a free port, stop it by PID afterwards."""
    with tempfile.TemporaryDirectory(prefix="kairos-bench-") as tmp:
        process = start_broker(BrokerConfig(port=free_port()), log_path=Path(tmp) / "tansu.log")
        try:
            yield process
        finally:
            process.stop()
