"""The in-process closed loop: seeded determinism, logged propensities, attributed rewards reaching the learner."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pytest
import torch

from kairos.evaluation import LoopConfig, LoopResult, loop_attribution, run_loop
from kairos.serving import policy_parts
from kairos.settings import Settings
from serving.policy import MASKED_SCORE, Feedback, Policy
from serving.policy.exploration import draw
from simulator import SimulationConfig

SIM = SimulationConfig(shoppers=40, duration_s=1200.0, seed=5)
FAST = LoopConfig(step_s=2.0)


@dataclass
class RecordingPolicy:
    """Uniform over the allowed candidates; remembers what it chose and what it was taught."""

    name: str = "recording"
    choices: list[tuple[int, npt.NDArray[np.float64], npt.NDArray[np.bool_]]] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)

    @property
    def version(self) -> str:
        return f"{self.name}-u{len(self.feedback)}"

    def scores(
        self, state: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        return np.where(mask, 0.0, MASKED_SCORE)

    def choose(
        self, scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
    ) -> tuple[int, npt.NDArray[np.float64]]:
        propensities = mask / mask.sum()
        index = draw(propensities, seed)
        self.choices.append((index, propensities, mask.copy()))
        return index, propensities

    def learn_one(self, feedback: Feedback) -> None:
        self.feedback.append(feedback)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The policy's tiny MLP runs faster on one thread (as in the Triton server) than on a busy machine's many."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _figures(result: LoopResult) -> dict[str, object]:
    summary = result.summary()
    del summary["wall_s"], summary["policy_s"], summary["events_per_s"]
    return summary


def test_the_recording_policy_is_a_policy() -> None:
    assert isinstance(RecordingPolicy(), Policy)


def test_the_same_seed_reproduces_the_run() -> None:
    settings = Settings()
    first = run_loop(SIM, policy_parts(settings).policy, settings=settings, config=FAST)
    second = run_loop(SIM, policy_parts(settings).policy, settings=settings, config=FAST)
    assert first.decisions > 20
    assert first.rounds == second.rounds
    assert _figures(first) == _figures(second)
    assert first.simulation == second.simulation


def test_another_seed_gives_another_run() -> None:
    settings = Settings()
    first = run_loop(SIM, policy_parts(settings).policy, settings=settings, config=FAST)
    other = SimulationConfig(shoppers=SIM.shoppers, duration_s=SIM.duration_s, seed=SIM.seed + 1)
    second = run_loop(other, policy_parts(settings).policy, settings=settings, config=FAST)
    assert [r.decision_id for r in first.rounds] != [r.decision_id for r in second.rounds]


def test_decisions_log_the_policys_propensities_and_the_learner_gets_them() -> None:
    policy = RecordingPolicy()
    result = run_loop(SIM, policy, config=FAST)
    assert result.decisions == len(policy.choices) > 20
    for round_, (index, propensities, mask) in zip(result.rounds, policy.choices, strict=True):
        assert mask[index]
        assert round_.propensity == pytest.approx(propensities[index])
        assert round_.policy_version.startswith("recording-u")
    # Every decision settled (drained at the end) and was learned once, with its logged propensity and mask.
    assert result.learned == len(policy.feedback) == result.decisions
    logged = Counter(round(p[1][p[0]], 12) for p in policy.choices)
    taught = Counter(round(f.propensity, 12) for f in policy.feedback)
    assert logged == taught
    for feedback in policy.feedback:
        assert feedback.mask[feedback.chosen]
        assert feedback.candidates.shape[0] == feedback.mask.shape[0]


def test_attributed_rewards_reach_the_learner() -> None:
    policy = RecordingPolicy()
    result = run_loop(SIM, policy, config=FAST)
    rewards = [r.reward for r in result.rounds]
    assert all(r is not None for r in rewards)
    assert sorted(f.reward for f in policy.feedback) == pytest.approx(sorted(r for r in rewards if r is not None))
    assert result.reward == pytest.approx(sum(r for r in rewards if r is not None))
    assert any(r != 0.0 for r in rewards)
    # The oracle: every applied decision has its value, the best value and the simulator's regret.
    applied = [r for r in result.rounds if r.status == "applied"]
    assert len(applied) == result.applied > 0
    for r in applied:
        assert r.chosen_value is not None and r.best_value is not None and r.regret is not None
        assert r.best_value - r.chosen_value == pytest.approx(r.regret)
        assert 0.0 <= r.at <= SIM.duration_s


def test_a_frozen_policy_learns_nothing() -> None:
    policy = RecordingPolicy()
    result = run_loop(SIM, policy, config=LoopConfig(step_s=2.0, learn=False))
    assert result.learned == 0 and not policy.feedback
    assert result.settled == result.decisions > 0


def test_without_drain_only_closed_windows_settle() -> None:
    policy = RecordingPolicy()
    base = Settings()  # windows of 5 minutes: the first decisions settle within the 20 simulated minutes
    settings = replace(base, decide=replace(base.decide, attribution_window_s=300))
    config = LoopConfig(step_s=2.0, drain=False, attribution=loop_attribution(300.0))
    result = run_loop(SIM, policy, settings=settings, config=config)
    assert 0 < result.settled < result.decisions
    assert result.learned == result.settled
