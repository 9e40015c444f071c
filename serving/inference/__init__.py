"""Triton serving: the model repository Kairos writes, the tritonserver process, and its async gRPC clients.

See docs/serving.md. The server runs in its own environment (``.venv-triton``, made by ``make setup``); this
package only writes files, starts the process and talks gRPC, so it imports nothing from the server's side.
"""

from serving.inference.breaker import BreakerState, CircuitBreaker
from serving.inference.client import IntentClient, IntentScores, PolicyClient, TextAnalysis, TextClient
from serving.inference.config import (
    ENCODER_MODEL,
    LM_MODEL,
    MODELS,
    POLICY_MODEL,
    RepositoryConfig,
    TritonConfig,
)
from serving.inference.connection import TritonConnection
from serving.inference.control import ModelControl
from serving.inference.environment import ServerEnvironment, locate_server_env
from serving.inference.errors import (
    InferenceError,
    InferenceUnavailableError,
    ModelLoadError,
    ModelRepositoryError,
    ServerEnvironmentError,
    TritonStartError,
    UnavailableReason,
)
from serving.inference.hot_swap import swap_policy
from serving.inference.model_configs import INTENT_MODEL
from serving.inference.repository import (
    POLICY_FILE,
    TEXT_HEAD_FILE,
    WARMUP_FILE,
    intent_head,
    model_versions,
    publish_policy_version,
    publish_version,
    retract_version,
    write_intent_model,
    write_repository,
)
from serving.inference.server import TritonProcess, free_port, start_triton

__all__ = [
    "ENCODER_MODEL",
    "INTENT_MODEL",
    "LM_MODEL",
    "MODELS",
    "POLICY_FILE",
    "POLICY_MODEL",
    "TEXT_HEAD_FILE",
    "WARMUP_FILE",
    "BreakerState",
    "CircuitBreaker",
    "InferenceError",
    "InferenceUnavailableError",
    "IntentClient",
    "IntentScores",
    "ModelControl",
    "ModelLoadError",
    "ModelRepositoryError",
    "PolicyClient",
    "RepositoryConfig",
    "ServerEnvironment",
    "ServerEnvironmentError",
    "TextAnalysis",
    "TextClient",
    "TritonConfig",
    "TritonConnection",
    "TritonProcess",
    "TritonStartError",
    "UnavailableReason",
    "free_port",
    "intent_head",
    "locate_server_env",
    "model_versions",
    "publish_policy_version",
    "publish_version",
    "retract_version",
    "start_triton",
    "swap_policy",
    "write_intent_model",
    "write_repository",
]
