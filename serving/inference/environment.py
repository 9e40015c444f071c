"""The Triton server's own Python environment (``.venv-triton``) and what Kairos needs from it.

The server is the ``tritonserver`` binary bundled in ``nvidia-pytriton`` (it needs numpy<2, while Kairos runs on
numpy 2, so it lives in its own environment, as a production Triton lives in its own container). Its Python
backend is assembled from three files of the wheel: ``libtriton_python.so`` and
``triton_python_backend_utils.py`` (``backends/python/``) and the stub for the environment's Python
(``python_backend_stubs/<major.minor>/``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from serving.inference.errors import ServerEnvironmentError

__all__ = ["INSTALLED_STAMP", "ServerEnvironment", "locate_server_env"]

#: written by ``make setup`` once the server environment is complete.
INSTALLED_STAMP = ".kairos-triton-installed"
_BACKEND_FILES = ("libtriton_python.so", "triton_python_backend_utils.py")
_STUB = "triton_python_backend_stub"


@dataclass(frozen=True, slots=True)
class ServerEnvironment:
    """Paths inside a complete server environment."""

    root: Path
    python: Path
    site_packages: Path
    python_version: str

    @property
    def tritonserver(self) -> Path:
        """The ``tritonserver`` binary."""
        return self.site_packages / "pytriton" / "tritonserver" / "bin" / "tritonserver"

    @property
    def libraries(self) -> Path:
        """The shared libraries ``tritonserver`` links (``nvidia_pytriton.libs``)."""
        return self.site_packages / "nvidia_pytriton.libs"

    @property
    def cache_directory(self) -> Path:
        """The bundled cache implementations (``--cache-directory``)."""
        return self.site_packages / "pytriton" / "tritonserver" / "caches"

    @property
    def bin(self) -> Path:
        """The environment's ``bin/``; first on ``PATH``, it makes the backend stub run in this environment."""
        return self.root / "bin"

    def interpreter_libdir(self) -> Path:
        """Where the environment's interpreter keeps ``libpython3.x.so`` (the stub links it)."""
        query = "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"
        out = subprocess.run([str(self.python), "-c", query], capture_output=True, text=True, check=True, timeout=30)
        return Path(out.stdout.strip())

    def backend_directory(self) -> Path:
        """Assemble (once) and return a ``--backend-directory`` holding the Python backend with its stub."""
        wheel = self.site_packages / "pytriton" / "tritonserver"
        sources = [wheel / "backends" / "python" / name for name in _BACKEND_FILES]
        sources.append(wheel / "python_backend_stubs" / self.python_version / _STUB)
        target = self.root / "triton-backends" / "python"
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            if not source.is_file():
                raise ServerEnvironmentError(f"{source} is missing from nvidia-pytriton: run `make setup`")
            copy = target / source.name
            wanted = (source.stat().st_size, int(source.stat().st_mtime))
            if not copy.is_file() or (copy.stat().st_size, int(copy.stat().st_mtime)) != wanted:
                shutil.copy2(source, copy)  # keeps the mtime, so an unchanged wheel is not copied again
        return target.parent


def locate_server_env(root: Path) -> ServerEnvironment:
    """Check that ``root`` is a complete server environment and describe it.

    Raises:
        ServerEnvironmentError: missing or incomplete (the message says to run ``make setup``).
    """
    root = root.resolve()
    python = root / "bin" / "python"
    if not python.exists():
        raise ServerEnvironmentError(f"the Triton server environment {root} does not exist: run `make setup`")
    if not (root / INSTALLED_STAMP).is_file():
        raise ServerEnvironmentError(f"the Triton server environment {root} is incomplete: run `make setup`")
    candidates = sorted((root / "lib").glob("python3.*/site-packages"))
    if not candidates:
        raise ServerEnvironmentError(f"no site-packages under {root}/lib: run `make setup`")
    site_packages = candidates[0]
    env = ServerEnvironment(root, python, site_packages, site_packages.parent.name.removeprefix("python"))
    if not env.tritonserver.is_file():
        raise ServerEnvironmentError(f"tritonserver not found at {env.tritonserver}: run `make setup`")
    return env
