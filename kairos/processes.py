"""Child processes of the embedded stack (worker), started and stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kairos.settings import Settings, settings_to_env

__all__ = ["WorkerProcess", "start_worker"]


@dataclass(slots=True)
class WorkerProcess:
    """A ``kairos worker`` child."""

    process: subprocess.Popen[bytes]
    metrics_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def metrics(self) -> str:
        """The worker's ``/metrics`` page."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            return str(response.read().decode())

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown (tests of restart exactness)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM and wait: the worker commits and leaves its groups. Returns the exit code."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


def start_worker(settings: Settings, log_path: Path, ready_timeout_s: float = 60.0) -> WorkerProcess:
    """Start ``kairos worker`` with ``settings`` and wait until it serves ``/healthz``.

    Raises:
        RuntimeError: the worker exited or did not become ready (its log says why).
    """
    env = {**os.environ, **settings_to_env(settings), "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "kairos.cli", "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    base = f"http://{settings.worker.web_host}:{settings.worker.web_port}"
    worker = WorkerProcess(process, f"{base}/metrics", log_path)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                return worker
        except OSError:
            time.sleep(0.2)
    worker.stop()
    raise RuntimeError(f"worker not ready in {ready_timeout_s}s; see {log_path}")
