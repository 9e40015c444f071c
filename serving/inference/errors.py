"""Errors of the Triton serving layer, under the one Kairos taxonomy."""

from __future__ import annotations

from enum import StrEnum

from schemas.errors import KairosError, TransientError

__all__ = [
    "InferenceError",
    "InferenceUnavailableError",
    "ModelLoadError",
    "ModelRepositoryError",
    "ServerEnvironmentError",
    "TritonStartError",
    "UnavailableReason",
]


class UnavailableReason(StrEnum):
    """Why an inference call did not produce an answer; the caller records it with its fallback."""

    CIRCUIT_OPEN = "circuit_open"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    SERVER_ERROR = "server_error"


class InferenceError(KairosError):
    """Base of the errors raised by ``serving.inference``."""


class InferenceUnavailableError(InferenceError, TransientError):
    """The inference server gave no answer (circuit open, timeout, unreachable, model error): fall back.

    Args:
        reason: the named cause, e.g. to record ``policy_source="fallback"`` with ``reason="triton_timeout"``.
        detail: a human-readable explanation.
    """

    def __init__(self, reason: UnavailableReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class ServerEnvironmentError(InferenceError):
    """The Triton server environment (``.venv-triton``) is missing or incomplete: run ``make setup``."""


class TritonStartError(InferenceError):
    """The server process exited or did not become ready in time; the message carries the log's tail."""


class ModelLoadError(InferenceError):
    """The server refused to load a model (or a new version of it); the previous version keeps serving."""


class ModelRepositoryError(InferenceError, ValueError):
    """A model repository could not be written as asked (bad version number, version already published)."""
