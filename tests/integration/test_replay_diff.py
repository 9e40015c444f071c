"""kairos replay diff on the real broker: a planted policy change is found, two identical replays differ in nothing."""

from __future__ import annotations

from pathlib import Path

from kairos.replay.command import replay
from kairos.replay.compare import compare
from kairos.replay.render import render_html, render_text
from kairos.replay.sides import load_side
from kairos.serving import policy_parts
from kairos.settings import Settings
from serving.learning import policy_weights
from streams.archive import archive_topics
from tests.integration.replay_support import publish_log, with_replay_dir


def test_diff_finds_a_planted_policy_change(topics: Settings, tmp_path: Path) -> None:
    publish_log(topics)
    production = with_replay_dir(topics, tmp_path / "replays")
    root = tmp_path / "archive"
    archive_topics(production.kafka, root, [production.topics.raw_events, production.topics.catalogue])
    planted = policy_parts(production).policy  # the served network with its weights pushed around
    for i, p in enumerate(planted.scorer.parameters()):
        p.data.mul_(-1.0 if i % 2 else 3.0)
    weights = tmp_path / "candidate.pt"
    weights.write_bytes(policy_weights(planted))
    ns = production.topics.namespace
    for suffix, policy in (("a", "1"), ("b", "1"), ("c", str(weights))):
        replay(production, source=str(root), namespace=f"{ns}-{suffix}", policy=policy)

    a, b, c = (load_side(production, f"{ns}-{s}") for s in "abc")
    same = compare(a, b).to_json()
    assert same["decisions"]["changed"] == 0 and same["decisions"]["matched"] == same["counts"][a.name]["decisions"]
    assert same["rewards"]["delta_total"] == 0.0 and same["examples"] == []

    planted_diff = compare(a, c).to_json()
    changed = planted_diff["decisions"]["changed"]
    assert changed > 0 and sum(v[0] for v in planted_diff["changed_by_trigger"].values()) == changed
    assert sum(planted_diff["changed_by_action"].values()) == changed
    [policy_pair] = planted_diff["changed_by_policy"]
    assert policy_pair.startswith("triton:neural_bandit-u0 -> triton:neural_bandit-u0")  # same name, other weights
    assert planted_diff["examples"] and all(e["a"] != e["b"] for e in planted_diff["examples"])
    what = planted_diff["what_if"]
    assert what["n"] > 0 and set(what["estimates"]) == {"ipw", "snipw", "dm", "dr"}
    for estimate in what["estimates"].values():
        assert estimate["lower"] <= estimate["value"] <= estimate["upper"]

    # an archive is a side too: the replay's own topics archived and compared with the live namespace
    archived = tmp_path / "archive-a"
    a_topics = [f"{ns}-a.interventions.v1", f"{ns}-a.rewards.v1", f"{ns}-a.deadletter.v1", f"{ns}-a.events.v1"]
    archive_topics(production.kafka, archived, a_topics)
    assert compare(load_side(production, str(archived)), a).to_json()["decisions"]["changed"] == 0

    text, page = render_text(planted_diff), render_html(planted_diff)
    assert "changed by trigger" in text and "what-if" in text
    assert page.count("<svg") >= 3 and "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
