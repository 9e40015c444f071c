"""The embedded broker binary is found, verified, and refused with a clear message when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.broker import TANSU_SHA256, find_tansu
from streams.errors import BrokerBinaryError


def test_the_wheel_binary_is_the_tested_build() -> None:
    path = find_tansu()
    assert path.name == "tansu" and path.is_file()


def test_missing_binary_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(BrokerBinaryError, match="not found at"):
        find_tansu(str(tmp_path / "tansu"))


def test_a_different_build_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "tansu"
    fake.write_bytes(b"#!/bin/sh\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerBinaryError, match=f"expected {TANSU_SHA256}"):
        find_tansu(str(fake))


def test_a_non_executable_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "tansu"
    fake.write_bytes(b"x")
    fake.chmod(0o644)
    with pytest.raises(BrokerBinaryError, match="not executable"):
        find_tansu(str(fake))
