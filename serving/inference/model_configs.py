"""The ``config.pbtxt`` text of each Kairos model, rendered from :class:`RepositoryConfig`.

Triton reads protobuf text format; these are the only configs Kairos writes, so they are rendered from small
templates rather than through protobuf classes. Every model runs on the ``python`` backend, on CPU.

>>> print(_parameters({"TORCH_NUM_THREADS": "1"}))
parameters: { key: "TORCH_NUM_THREADS" value: { string_value: "1" } }
"""

from __future__ import annotations

import json
from pathlib import Path

from serving.inference.config import ENCODER_MODEL, LM_MODEL, POLICY_MODEL, RepositoryConfig

__all__ = ["EMBEDDING_DIM", "INTENT_MODEL", "intent_config_text", "model_config_text"]

EMBEDDING_DIM = 384
#: the intent/sentiment model (encoder + head in one Python-backend model); loaded only with a head to serve.
INTENT_MODEL = "kairos_intent"
#: ``kairos_intent``'s dynamic-batching delay (µs).
INTENT_QUEUE_DELAY_US = 500


def _quote(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid protobuf text-format string


def _parameters(values: dict[str, str]) -> str:
    return "\n".join(
        f"parameters: {{ key: {_quote(key)} value: {{ string_value: {_quote(value)} }} }}"
        for key, value in values.items()
    )


def _tensor(name: str, data_type: str, dims: tuple[int, ...], *, optional: bool = False) -> str:
    flag = " optional: true" if optional else ""
    return f"  {{ name: {_quote(name)} data_type: {data_type} dims: [ {', '.join(map(str, dims))} ]{flag} }}"


def _block(kind: str, tensors: list[str]) -> str:
    return f"{kind} [\n" + ",\n".join(tensors) + "\n]"


def _common(name: str, max_batch_size: int, instances: int) -> str:
    return "\n".join(
        [
            f"name: {_quote(name)}",
            'backend: "python"',
            f"max_batch_size: {max_batch_size}",
            "version_policy: { latest: { num_versions: 1 } }",
            f"instance_group [ {{ count: {instances} kind: KIND_CPU }} ]",
        ]
    )


def _policy(config: RepositoryConfig) -> str:
    preferred = ", ".join(str(n) for n in config.policy_preferred_batch_sizes)
    return "\n".join(
        [
            _common(POLICY_MODEL, config.policy_max_batch_size, config.policy_instances),
            _block(
                "input",
                [
                    _tensor("STATE", "TYPE_FP32", (-1,)),
                    _tensor("CANDIDATES", "TYPE_FP32", (-1, -1)),
                    _tensor("MASK", "TYPE_BOOL", (-1,)),
                ],
            ),
            _block("output", [_tensor("SCORES", "TYPE_FP32", (-1,))]),
            "dynamic_batching {",
            f"  preferred_batch_size: [ {preferred} ]",
            f"  max_queue_delay_microseconds: {config.policy_max_queue_delay_us}",
            "}",
            _parameters({"TORCH_NUM_THREADS": str(config.policy_threads)}),
        ]
    )


def _encoder(config: RepositoryConfig) -> str:
    parameters = {"TORCH_NUM_THREADS": str(config.encoder_threads)}
    if config.encoder_dir:
        parameters["ENCODER_DIR"] = str(Path(config.encoder_dir).resolve())
    return "\n".join(
        [
            _common(ENCODER_MODEL, config.encoder_max_batch_size, 1),
            _block("input", [_tensor("TEXT", "TYPE_STRING", (1,))]),
            _block(
                "output",
                [
                    _tensor("EMBEDDING", "TYPE_FP32", (EMBEDDING_DIM,)),
                    _tensor("INTENT_LOGITS", "TYPE_FP32", (-1,)),
                    _tensor("SENTIMENT", "TYPE_FP32", (-1,)),
                ],
            ),
            f"dynamic_batching {{ max_queue_delay_microseconds: {config.encoder_max_queue_delay_us} }}",
            _parameters(parameters),
        ]
    )


def _lm(config: RepositoryConfig) -> str:
    return "\n".join(
        [
            _common(LM_MODEL, 0, 1),
            _block(
                "input",
                [_tensor("PROMPT", "TYPE_STRING", (1,)), _tensor("MAX_NEW_TOKENS", "TYPE_INT32", (1,), optional=True)],
            ),
            _block("output", [_tensor("TEXT", "TYPE_STRING", (1,))]),
            _parameters(
                {
                    "LM_DIR": str(config.lm_dir.resolve()),
                    "DEFAULT_NEW_TOKENS": str(config.lm_default_new_tokens),
                    "MAX_NEW_TOKENS_LIMIT": str(config.lm_max_new_tokens),
                    "TORCH_NUM_THREADS": str(config.lm_threads),
                }
            ),
        ]
    )


def intent_config_text(
    config: RepositoryConfig, intent_classes: tuple[str, ...], max_queue_delay_us: int = INTENT_QUEUE_DELAY_US
) -> str:
    """The ``config.pbtxt`` of ``kairos_intent``: the encoder's batch size, threads and folder, the head's classes.

    ``INTENT_PROBS`` columns follow ``intent_classes`` (also a parameter, which the model checks against its head).
    The batching delay is short: the feature stage sends one request per batch of events and waits for it.
    """
    parameters = {"TORCH_NUM_THREADS": str(config.encoder_threads), "INTENT_CLASSES": ",".join(intent_classes)}
    if config.encoder_dir:
        parameters["ENCODER_DIR"] = str(Path(config.encoder_dir).resolve())
    return (
        "\n".join(
            [
                _common(INTENT_MODEL, config.encoder_max_batch_size, 1),
                _block("input", [_tensor("TEXT", "TYPE_STRING", (1,))]),
                _block(
                    "output",
                    [
                        _tensor("INTENT_PROBS", "TYPE_FP32", (len(intent_classes),)),
                        _tensor("SENTIMENT", "TYPE_FP32", (1,)),
                    ],
                ),
                f"dynamic_batching {{ max_queue_delay_microseconds: {max_queue_delay_us} }}",
                _parameters(parameters),
            ]
        )
        + "\n"
    )


_RENDERERS = {POLICY_MODEL: _policy, ENCODER_MODEL: _encoder, LM_MODEL: _lm}


def model_config_text(model: str, config: RepositoryConfig) -> str:
    """The ``config.pbtxt`` for ``model`` (one of :data:`serving.inference.config.MODELS`).

    Raises:
        KeyError: ``model`` is not a Kairos model.
    """
    return _RENDERERS[model](config) + "\n"
