"""kairos replay on the real broker: byte-identical twice, old logs decided, production untouched, restarts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from kairos.replay.command import replay
from kairos.replay.errors import ReplayError
from kairos.replay.isolation import replay_settings
from kairos.settings import Settings, settings_to_env
from schemas.codec import StructDecoder
from schemas.deadletter import dead_letter_from_record
from schemas.decisions import Decision
from streams.archive import archive_topics
from streams.reader import read_range
from tests.integration.replay_support import partition_bytes, publish_log, snapshot, tree, with_replay_dir

FROM, UNTIL = datetime(2026, 1, 5, 9, 5, tzinfo=UTC), datetime(2026, 1, 5, 9, 20, tzinfo=UTC)


@pytest.fixture
def logged(topics: Settings, tmp_path: Path) -> tuple[Settings, Counter[str]]:
    """A deployment holding an old simulated log (older than the skew limit), its replays under tmp_path, and the
    dead-letter reasons the log's bad records must get."""
    expected = publish_log(topics)
    return with_replay_dir(topics, tmp_path / "replays"), expected


@pytest.fixture
def production(logged: tuple[Settings, Counter[str]]) -> Settings:
    """The deployment of :func:`logged`."""
    return logged[0]


def test_archive_replay_twice_is_byte_identical_and_old_events_are_decided(
    logged: tuple[Settings, Counter[str]], tmp_path: Path
) -> None:
    production, expected = logged
    root = tmp_path / "archive"
    archive_topics(production.kafka, root, [production.topics.raw_events, production.topics.catalogue])
    before = snapshot(production)
    production_state = tree(Path(production.worker.data_dir))

    first = replay(production, source=str(root), namespace=f"{production.topics.namespace}-a", policy="1")
    # the second in another process (another hash seed), through the CLI, also running the learner
    env = {
        **settings_to_env(production),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONHASHSEED": "12345",
        "KAIROS_LEARN_MIN_SAMPLES": "20",
        "KAIROS_LEARN_PROPOSE_EVERY": "50",
    }
    ns_b = f"{production.topics.namespace}-b"
    cli = [sys.executable, "-m", "kairos.cli", "replay", "--source", str(root), "--namespace", ns_b, "--learn"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    second = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert second["learner"]["proposals"] > 0  # the learner ran on the replay's own contexts and rewards

    a = replay_settings(production, f"{production.topics.namespace}-a")
    b = replay_settings(production, f"{production.topics.namespace}-b")
    interventions = partition_bytes(a, a.topics.interventions)
    assert sum(map(len, interventions)) > 20, first.to_json()
    assert interventions == partition_bytes(b, b.topics.interventions)
    rewards = partition_bytes(a, a.topics.rewards)
    assert sum(map(len, rewards)) > 0
    assert rewards == partition_bytes(b, b.topics.rewards)
    assert first.written == second["written"]

    # a log older than ingest.max_past_skew_s is decided, not dead-lettered as clock-skewed: ingest dead-letters
    # exactly the records the simulator broke (its clock-skewed ones too, judged by when they were sent)
    letters = [
        dead_letter_from_record(m.key(), m.value(), m.headers())
        for p in range(4)
        for m in read_range(a.kafka, a.topics.dead_letters, p, 0)
    ]
    assert Counter(d.reason for d in letters if d.stage == "ingest") == expected
    assert [d.reason for d in letters if d.stage == "features"] == []  # no clock-skewed event got through
    assert first.written["events.v1"] > 0.9 * first.records_in

    # production: topics, the ingest group and the worker state (online store) untouched
    assert snapshot(production) == before
    assert tree(Path(production.worker.data_dir)) == production_state
    assert Path(a.worker.data_dir).is_relative_to(tmp_path / "replays")

    # a finished namespace is not overwritten
    with pytest.raises(ReplayError, match="finished replay"):
        replay(production, source=str(root), namespace=f"{production.topics.namespace}-a", policy="1")


def test_a_kafka_time_slice_and_a_crashed_replay_restart_cleanly(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns = f"{production.topics.namespace}-k"
    calls = {"n": 0}
    from kairos.replay import driver

    real_step = driver._step

    def crash_in_round_two(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 6:  # the second round's feature stage
            raise RuntimeError("crash in the middle of a round")
        real_step(*args, **kwargs)  # type: ignore[arg-type]

    small = replace(production, ingest=replace(production.ingest, batch_size=200))
    window = {"start": FROM.isoformat(), "until": UNTIL.isoformat()}
    monkeypatch.setattr(driver, "_step", crash_in_round_two)
    with pytest.raises(RuntimeError, match="crash"):
        replay(small, source="kafka", namespace=ns, policy="rules", **window)
    monkeypatch.setattr(driver, "_step", real_step)
    restarted = replay(small, source="kafka", namespace=ns, policy="rules", **window)
    assert restarted.restarted
    clean = replay(small, source="kafka", namespace=f"{ns}2", policy="rules", **window)
    r1, r2 = replay_settings(small, ns), replay_settings(small, f"{ns}2")
    assert partition_bytes(r1, r1.topics.interventions) == partition_bytes(r2, r2.topics.interventions)
    assert restarted.written == clean.written
    # the time slice: only events stamped inside the window were replayed
    decode = StructDecoder(Decision).decode
    times = [decode(v).event_time for part in partition_bytes(r1, r1.topics.interventions) for v in part]
    assert times and all(FROM <= t < UNTIL for t in times)
