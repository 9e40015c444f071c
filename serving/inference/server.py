"""The tritonserver process: started on a model repository, bound to loopback, stopped by PID.

``start_triton`` runs the bundled binary directly (not PyTriton's proxy: measured ~5× faster, docs/serving.md)
with ``--model-control-mode=explicit`` so models and new versions load only when asked
(:mod:`serving.inference.control`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from serving.inference.config import TritonConfig
from serving.inference.environment import ServerEnvironment, locate_server_env
from serving.inference.errors import TritonStartError

__all__ = ["TritonProcess", "free_port", "server_command", "server_environ", "start_triton"]

logger = logging.getLogger(__name__)

_LOG_TAIL_LINES = 40


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class TritonProcess:
    """A running tritonserver. ``stop()`` ends it (and its backend stubs) by process id."""

    process: subprocess.Popen[bytes]
    host: str
    http_port: int
    grpc_port: int
    metrics_port: int
    log_path: Path

    @property
    def pid(self) -> int:
        """The server's process id (also its process group id)."""
        return self.process.pid

    @property
    def grpc_url(self) -> str:
        """``host:port`` of the gRPC endpoint (what ``tritonclient.grpc`` takes)."""
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        """``host:port`` of the HTTP/REST endpoint."""
        return f"{self.host}:{self.http_port}"

    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the server log."""
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (Triton drains in-flight requests and unloads models), SIGKILL after ``timeout_s``.

        The server runs in its own process group (its stubs are in it): stragglers are killed by group id.
        """
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("tritonserver pid=%s ignored SIGTERM for %ss; killing", self.pid, timeout_s)
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        logger.info("tritonserver stopped pid=%s", self.pid)


def server_environ(env: ServerEnvironment, base: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment for tritonserver: its libraries, no GPU, the server env's Python for the stubs."""
    environ = dict(os.environ if base is None else base)
    for leaked in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        environ.pop(leaked, None)
    libs = [str(env.libraries), str(env.interpreter_libdir())]
    if environ.get("LD_LIBRARY_PATH"):
        libs.append(environ["LD_LIBRARY_PATH"])
    environ.update(
        LD_LIBRARY_PATH=":".join(libs),
        CUDA_VISIBLE_DEVICES="",
        PATH=f"{env.bin}:{environ.get('PATH', '/usr/bin:/bin')}",
        VIRTUAL_ENV=str(env.root),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONNOUSERSITE="1",
    )
    return environ


def server_command(
    env: ServerEnvironment, config: TritonConfig, backend_dir: Path, ports: tuple[int, int, int]
) -> list[str]:
    """The tritonserver command line: explicit model control, every listener on ``config.host``."""
    http_port, grpc_port, metrics_port = ports
    cmd = [
        str(env.tritonserver),
        f"--model-repository={config.repository.resolve()}",
        f"--backend-directory={backend_dir}",
        f"--cache-directory={env.cache_directory}",
        "--model-control-mode=explicit",
        *(f"--load-model={model}" for model in config.models),
        f"--http-address={config.host}",
        f"--http-port={http_port}",
        f"--grpc-address={config.host}",
        f"--grpc-port={grpc_port}",
        f"--metrics-address={config.host}",
        f"--metrics-port={metrics_port}",
        "--allow-gpu-metrics=false",
        "--disable-auto-complete-config",
        "--strict-readiness=true",
        "--exit-on-error=true",
        f"--log-verbose={config.log_verbose}",
    ]
    return cmd


def _ready(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/v2/health/ready", timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_triton(config: TritonConfig, log_path: Path | None = None) -> TritonProcess:
    """Start tritonserver on ``config.repository`` with ``config.models`` loaded, and wait until it is ready.

    Args:
        config: environment, repository, ports (0 = a free one), models, start-up timeout.
        log_path: where the server's output goes (appended); a temporary file when omitted.

    Raises:
        ServerEnvironmentError: the server environment is missing or incomplete (run ``make setup``).
        TritonStartError: the server exited or was not ready within ``config.startup_timeout_s``; the
            message ends with the log's tail.
    """
    env = locate_server_env(config.server_env)
    backend_dir = env.backend_directory()
    ports = tuple(p or free_port(config.host) for p in (config.http_port, config.grpc_port, config.metrics_port))
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="kairos-triton-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    repository = config.repository.resolve()
    if not repository.is_dir():
        raise TritonStartError(f"model repository {repository} does not exist: write it first (write_repository)")
    cmd = server_command(env, config, backend_dir, (ports[0], ports[1], ports[2]))
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_environ(env),
            cwd=str(repository),
            start_new_session=True,
        )
    server = TritonProcess(process, config.host, ports[0], ports[1], ports[2], log_path)
    started = time.monotonic()
    deadline = started + config.startup_timeout_s
    while not _ready(config.host, server.http_port):
        if process.poll() is not None:
            server.stop()
            raise TritonStartError(
                f"tritonserver exited with code {process.returncode} while starting; log {log_path}:\n"
                + server.log_tail()
            )
        if time.monotonic() > deadline:
            server.stop()
            raise TritonStartError(
                f"tritonserver was not ready within {config.startup_timeout_s}s; log {log_path}:\n" + server.log_tail()
            )
        time.sleep(0.1)
    logger.info(
        "tritonserver ready pid=%s grpc=%s http=%s models=%s in_s=%.1f",
        server.pid,
        server.grpc_url,
        server.http_url,
        ",".join(config.models),
        time.monotonic() - started,
    )
    return server
