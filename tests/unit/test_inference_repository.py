"""The model repository writer: the layout a production Triton loads, valid configs, atomic versions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from serving.inference import (
    ENCODER_MODEL,
    LM_MODEL,
    MODELS,
    POLICY_MODEL,
    WARMUP_FILE,
    ModelRepositoryError,
    RepositoryConfig,
    model_versions,
    publish_policy_version,
    publish_version,
    retract_version,
    write_repository,
)
from serving.inference.repository import model_source

CONFIG = RepositoryConfig(lm_dir=Path("/srv/lm"), encoder_dir="")


def _config(repo: Path, model: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse((repo / model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repository(tmp_path / "models", CONFIG)


def test_every_model_has_a_config_that_parses_as_tritons_own_protobuf(repo: Path) -> None:
    for model in MODELS:
        config = _config(repo, model)
        assert config.name == model
        assert config.backend == "python"
        assert config.version_policy.latest.num_versions == 1
        assert [g.kind for g in config.instance_group] == [model_config_pb2.ModelInstanceGroup.KIND_CPU]


def test_policy_config_matches_the_contract(repo: Path) -> None:
    config = _config(repo, POLICY_MODEL)
    dtypes = model_config_pb2.DataType
    assert config.max_batch_size == 64
    assert [(t.name, t.data_type, list(t.dims)) for t in config.input] == [
        ("STATE", dtypes.TYPE_FP32, [-1]),
        ("CANDIDATES", dtypes.TYPE_FP32, [-1, -1]),
        ("MASK", dtypes.TYPE_BOOL, [-1]),
    ]
    assert [(t.name, t.data_type, list(t.dims)) for t in config.output] == [("SCORES", dtypes.TYPE_FP32, [-1])]
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16, 32, 64]
    assert config.dynamic_batching.max_queue_delay_microseconds == 300


def test_text_models_config(repo: Path) -> None:
    encoder = _config(repo, ENCODER_MODEL)
    assert [(t.name, list(t.dims)) for t in encoder.output] == [
        ("EMBEDDING", [384]),
        ("INTENT_LOGITS", [-1]),
        ("SENTIMENT", [-1]),
    ]
    lm = _config(repo, LM_MODEL)
    assert lm.max_batch_size == 0
    assert [(t.name, t.optional) for t in lm.input] == [("PROMPT", False), ("MAX_NEW_TOKENS", True)]
    assert lm.parameters["LM_DIR"].string_value == "/srv/lm"
    assert lm.instance_group[0].count == 1


def test_code_models_get_version_1_with_compiled_model_py(repo: Path) -> None:
    for model in (ENCODER_MODEL, LM_MODEL):
        assert model_versions(repo, model) == [1]
        folder = repo / model / "1"
        assert (folder / "model.py").read_text() == model_source(model)
        assert (folder / "__pycache__" / f"model.{sys.implementation.cache_tag}.pyc").is_file()
    assert model_versions(repo, POLICY_MODEL) == []


def test_write_repository_is_idempotent(repo: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in repo.rglob("*") if p.is_file()}
    write_repository(repo, CONFIG)
    after = {p: p.stat().st_mtime_ns for p in repo.rglob("*") if p.is_file()}
    assert before == after


def test_changed_model_code_becomes_a_new_version_and_keeps_the_head(repo: Path) -> None:
    publish_version(repo, ENCODER_MODEL, 2, {"head.pt": b"head"})
    retract_version(repo, ENCODER_MODEL, 1)
    (repo / ENCODER_MODEL / "2" / "model.py").write_text("# an older release of the code\n")
    write_repository(repo, CONFIG)
    assert model_versions(repo, ENCODER_MODEL) == [3]
    assert (repo / ENCODER_MODEL / "3" / "head.pt").read_bytes() == b"head"
    assert (repo / ENCODER_MODEL / "3" / "model.py").read_text() == model_source(ENCODER_MODEL)


def test_a_changed_setting_rewrites_the_config(repo: Path) -> None:
    write_repository(repo, RepositoryConfig(lm_dir=Path("/srv/lm"), policy_max_queue_delay_us=500))
    assert _config(repo, POLICY_MODEL).dynamic_batching.max_queue_delay_microseconds == 500


def test_publish_policy_version_writes_a_complete_folder(repo: Path) -> None:
    folder = publish_policy_version(repo, 1, b"torchscript")
    assert folder == repo / POLICY_MODEL / "1"
    assert (folder / "model.pt").read_bytes() == b"torchscript"
    assert (folder / "model.py").read_text() == model_source(POLICY_MODEL)
    assert (folder / "__pycache__" / f"model.{sys.implementation.cache_tag}.pyc").is_file()
    assert sorted(p.name for p in (repo / POLICY_MODEL).iterdir()) == ["1", "config.pbtxt"]  # no staging left


def test_shapes_become_the_warmup_file(repo: Path) -> None:
    folder = publish_policy_version(repo, 1, b"torchscript", shapes=(64, 32, 16))
    assert json.loads((folder / WARMUP_FILE).read_text()) == {"state_dim": 64, "candidates": 32, "candidate_dim": 16}
    assert not (publish_policy_version(repo, 2, b"torchscript") / WARMUP_FILE).exists()


@pytest.mark.parametrize("version", [0, -3])
def test_versions_are_positive(repo: Path, version: int) -> None:
    with pytest.raises(ModelRepositoryError, match="positive"):
        publish_policy_version(repo, version, b"x")


def test_versions_only_go_up(repo: Path) -> None:
    publish_policy_version(repo, 2, b"x")
    for version in (1, 2):
        with pytest.raises(ModelRepositoryError, match="not above"):
            publish_policy_version(repo, version, b"y")
    assert (repo / POLICY_MODEL / "2" / "model.pt").read_bytes() == b"x"


def test_publishing_needs_a_written_repository(tmp_path: Path) -> None:
    with pytest.raises(ModelRepositoryError, match=r"config\.pbtxt"):
        publish_policy_version(tmp_path, 1, b"x")


def test_file_names_cannot_escape_or_replace_the_code(repo: Path) -> None:
    for name in ("model.py", "../evil", ".hidden"):
        with pytest.raises(ModelRepositoryError, match="cannot publish"):
            publish_version(repo, POLICY_MODEL, 1, {name: b"x"})
    assert model_versions(repo, POLICY_MODEL) == []


def test_retract_removes_the_version(repo: Path) -> None:
    for version in (1, 2):
        publish_policy_version(repo, version, b"x")
    retract_version(repo, POLICY_MODEL, 2)
    retract_version(repo, POLICY_MODEL, 7)  # absent: nothing to do
    assert model_versions(repo, POLICY_MODEL) == [1]
    assert sorted(p.name for p in (repo / POLICY_MODEL).iterdir()) == ["1", "config.pbtxt"]


def test_unknown_model_is_refused(repo: Path) -> None:
    with pytest.raises(ModelRepositoryError, match="unknown model"):
        model_source("kairos_oracle")
