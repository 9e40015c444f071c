"""Model control on a running server (explicit mode): load/reload, unload, readiness.

``load_model`` on a loaded model reloads it from the repository: Triton brings up the versions its
``version_policy`` selects (the latest), and only once they are ready does it retire the old ones; in-flight and
new requests keep being served throughout. A version that fails to load is refused and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import time

from tritonclient.utils import InferenceServerException

from serving.inference.connection import TritonConnection
from serving.inference.errors import ModelLoadError

__all__ = ["ModelControl"]


class ModelControl:
    """The repository and health API of one server.

    Args:
        connection: a :class:`TritonConnection`, or the gRPC ``host:port`` (owned, closed by :meth:`aclose`).
    """

    def __init__(self, connection: TritonConnection | str) -> None:
        self._owned = isinstance(connection, str)
        self.connection = TritonConnection(connection) if isinstance(connection, str) else connection

    async def load_model(self, model: str, timeout_s: float = 120.0) -> None:
        """Load ``model``, or reload it to pick up new versions and config from the repository.

        Raises:
            ModelLoadError: the server refused (bad config, a version whose ``initialize`` failed, ...); a
                previously loaded version keeps serving.
        """
        try:
            await self.connection.client().load_model(model, client_timeout=timeout_s)
        except InferenceServerException as exc:
            raise ModelLoadError(f"{model}: {exc.message()}") from exc

    async def unload_model(self, model: str, timeout_s: float = 60.0) -> None:
        """Unload ``model`` (in-flight requests finish first).

        Raises:
            ModelLoadError: the server refused.
        """
        try:
            await self.connection.client().unload_model(model, client_timeout=timeout_s)
        except InferenceServerException as exc:
            raise ModelLoadError(f"{model}: {exc.message()}") from exc

    async def is_server_ready(self, timeout_s: float = 2.0) -> bool:
        """Whether the server answers and is ready (False when unreachable)."""
        try:
            return bool(await self.connection.client().is_server_ready(client_timeout=timeout_s))
        except InferenceServerException:
            return False

    async def is_model_ready(self, model: str, version: int | None = None, timeout_s: float = 2.0) -> bool:
        """Whether ``model`` (or one ``version`` of it) is ready to serve (False when unreachable)."""
        client = self.connection.client()
        try:
            ready = await client.is_model_ready(
                model, "" if version is None else str(version), client_timeout=timeout_s
            )
        except InferenceServerException:
            return False
        return bool(ready)

    async def ready_versions(self, model: str, timeout_s: float = 2.0) -> list[int]:
        """The versions of ``model`` the server has ready, ascending.

        Raises:
            ModelLoadError: the server could not be asked.
        """
        try:
            index = await self.connection.client().get_model_repository_index(as_json=True, client_timeout=timeout_s)
        except InferenceServerException as exc:
            raise ModelLoadError(f"repository index: {exc.message()}") from exc
        models = index.get("models", [])
        return sorted(int(m["version"]) for m in models if m.get("name") == model and m.get("state") == "READY")

    async def batch_statistics(self, model: str, timeout_s: float = 2.0) -> tuple[int, int]:
        """``(inferences, executions)`` of ``model`` since it loaded: their ratio is the mean batch size run.

        Raises:
            ModelLoadError: the server could not be asked.
        """
        try:
            stats = await self.connection.client().get_inference_statistics(
                model, as_json=True, client_timeout=timeout_s
            )
        except InferenceServerException as exc:
            raise ModelLoadError(f"statistics of {model}: {exc.message()}") from exc
        versions = stats.get("model_stats", [])
        inferences = sum(int(v.get("inference_count", 0)) for v in versions)
        executions = sum(int(v.get("execution_count", 0)) for v in versions)
        return inferences, executions

    async def wait_model_ready(self, model: str, timeout_s: float = 60.0) -> None:
        """Poll until ``model`` is ready.

        Raises:
            ModelLoadError: not ready within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while not await self.is_model_ready(model):
            if time.monotonic() > deadline:
                raise ModelLoadError(f"{model} not ready within {timeout_s}s")
            await asyncio.sleep(0.1)

    async def aclose(self) -> None:
        """Close the running loop's client if this object opened the connection."""
        if self._owned:
            await self.connection.aclose()
