"""Locating the Triton server environment: a missing or incomplete one says to run ``make setup``."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.inference import RepositoryConfig, ServerEnvironmentError, TritonConfig, locate_server_env, start_triton
from serving.inference.environment import INSTALLED_STAMP


def test_missing_environment_says_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(ServerEnvironmentError, match="does not exist: run `make setup`"):
        locate_server_env(tmp_path / "absent")


def test_half_installed_environment_says_run_make_setup(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").touch()
    with pytest.raises(ServerEnvironmentError, match="incomplete: run `make setup`"):
        locate_server_env(tmp_path)
    (tmp_path / INSTALLED_STAMP).touch()
    with pytest.raises(ServerEnvironmentError, match="make setup"):
        locate_server_env(tmp_path)


def test_start_triton_fails_before_spawning_without_an_environment(tmp_path: Path) -> None:
    config = TritonConfig(server_env=tmp_path / "absent", repository=tmp_path / "models")
    with pytest.raises(ServerEnvironmentError, match="make setup"):
        start_triton(config)


def test_defaults_bind_loopback_and_pick_ports() -> None:
    config = TritonConfig()
    assert config.host == "127.0.0.1"
    assert (config.http_port, config.grpc_port, config.metrics_port) == (0, 0, 0)
    assert RepositoryConfig().policy_max_batch_size == 64


def test_every_listener_binds_the_configured_host_in_explicit_mode(tmp_path: Path) -> None:
    from serving.inference.environment import ServerEnvironment
    from serving.inference.server import server_command

    env = ServerEnvironment(tmp_path, tmp_path / "bin" / "python", tmp_path / "site", "3.11")
    config = TritonConfig(repository=tmp_path / "models", models=("kairos_policy",))
    cmd = server_command(env, config, tmp_path / "backends", (8000, 8001, 8002))
    addresses = [arg for arg in cmd if "-address=" in arg]
    assert addresses == ["--http-address=127.0.0.1", "--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1"]
    assert "--model-control-mode=explicit" in cmd
    assert [arg for arg in cmd if arg.startswith("--load-model")] == ["--load-model=kairos_policy"]
    assert {"--http-port=8000", "--grpc-port=8001", "--metrics-port=8002"} <= set(cmd)
