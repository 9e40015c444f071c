"""``kairos_intent`` in the model repository: its config, its versions, and the head read back from ``head.pt``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serving.concierge import INTENT_CLASSES, load_examples, split_examples, train_head
from serving.concierge.head_export import export_head, head_from_torchscript
from serving.inference import INTENT_MODEL, RepositoryConfig, intent_head, model_versions, write_intent_model
from serving.inference.repository import model_source
from tests.unit.test_concierge_support import EMBED


def test_the_config_names_the_outputs_and_the_head_classes(tmp_path: Path) -> None:
    write_intent_model(tmp_path, RepositoryConfig(encoder_threads=2), b"head-1", INTENT_CLASSES)
    config = (tmp_path / INTENT_MODEL / "config.pbtxt").read_text()
    assert f'name: "{INTENT_MODEL}"' in config and 'backend: "python"' in config
    assert f'name: "INTENT_PROBS" data_type: TYPE_FP32 dims: [ {len(INTENT_CLASSES)} ]' in config
    assert 'name: "SENTIMENT" data_type: TYPE_FP32 dims: [ 1 ]' in config
    assert f'key: "INTENT_CLASSES" value: {{ string_value: "{",".join(INTENT_CLASSES)}" }}' in config
    assert 'key: "TORCH_NUM_THREADS" value: { string_value: "2" }' in config


def test_writing_is_idempotent_and_a_new_head_is_a_new_version(tmp_path: Path) -> None:
    assert intent_head(tmp_path) is None
    config = RepositoryConfig()
    assert write_intent_model(tmp_path, config, b"head-1", INTENT_CLASSES) == 1
    assert write_intent_model(tmp_path, config, b"head-1", INTENT_CLASSES) == 1
    folder = tmp_path / INTENT_MODEL / "1"
    assert (folder / "model.py").read_text() == model_source(INTENT_MODEL)
    assert intent_head(tmp_path) == b"head-1"
    assert write_intent_model(tmp_path, config, b"head-2", INTENT_CLASSES) == 2
    assert model_versions(tmp_path, INTENT_MODEL) == [2]  # the old folder is retracted
    assert intent_head(tmp_path) == b"head-2"


def test_the_head_read_back_from_its_export_predicts_alike() -> None:
    train, held = split_examples(load_examples(), holdout=0.2, seed=0)
    head = train_head(train, EMBED)
    restored = head_from_torchscript(export_head(head))
    vectors = EMBED([e.text for e in held])
    np.testing.assert_allclose(restored.forward(vectors)[0], head.forward(vectors)[0], atol=1e-5)
    np.testing.assert_allclose(restored.forward(vectors)[1], head.forward(vectors)[1], atol=1e-5)
    assert [p.intent for p in restored.predict_many(vectors)] == [p.intent for p in head.predict_many(vectors)]
