"""PartitionCheckpoints: restore, skip what a snapshot covers, flush before saving, reload what was saved."""

from __future__ import annotations

from pathlib import Path

from streams.checkpoint import PartitionCheckpoints


def test_release_saves_after_before_save_and_restore_reloads(tmp_path: Path) -> None:
    flushed: list[int] = []
    ckpt: PartitionCheckpoints[dict[str, int]] = PartitionCheckpoints(
        tmp_path, "stage", "topic", before_save=lambda: flushed.append(1)
    )
    start, state = ckpt.restore(0, dict)
    assert (start, state) == (0, {})
    ckpt.adopt(0, state, start, committed=-1)
    state["n"] = 3
    ckpt.advance(0, 41)
    assert ckpt.release(0) == {"n": 3}
    assert flushed == [1]
    again: PartitionCheckpoints[dict[str, int]] = PartitionCheckpoints(
        tmp_path, "stage", "topic", before_save=lambda: None
    )
    assert again.restore(0, dict) == (42, {"n": 3})


def test_a_snapshot_ahead_of_the_group_covers_the_records_in_between(tmp_path: Path) -> None:
    ckpt: PartitionCheckpoints[int] = PartitionCheckpoints(tmp_path, "s", "t", before_save=lambda: None)
    ckpt.adopt(1, 0, start=100, committed=80)
    assert ckpt.covers(1, 80) and ckpt.covers(1, 99)
    assert not ckpt.covers(1, 100)


def test_maybe_save_waits_for_the_interval(tmp_path: Path) -> None:
    now = [0.0]
    saves: list[float] = []
    ckpt: PartitionCheckpoints[int] = PartitionCheckpoints(
        tmp_path, "s", "t", before_save=lambda: saves.append(now[0]), every_s=30.0, clock=lambda: now[0]
    )
    ckpt.adopt(0, 7, start=0, committed=0)
    now[0] = 10.0
    ckpt.maybe_save()
    now[0] = 31.0
    ckpt.maybe_save()
    assert saves == [31.0]
    assert (tmp_path / "s" / "t-0.ckpt").exists()
