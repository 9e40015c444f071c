"""History to learn from before going live: the rules logged with a small exact exploration, on other populations.

A shop that runs Kairos's rules with ε-greedy exploration over arms and a control group that sees nothing
(:class:`~serving.policy.SafePolicy` with no data *is* the rules plus ε; what a deployment's decision stage serves
until the first learned release, ``decide.first_policy = rules``) logs every decision with exact propensities; those
logs train the first policy version. ``kairos evaluate`` does the same in process:
:func:`collect_history` runs the logging policy on populations (seeds) *other* than the ones it evaluates, and the
learning arms start from what those logs teach (:func:`warm_start`). The logs are the
:class:`~serving.policy.Feedback` the loop hands a learner: state, candidates, guarded mask, choice, every
candidate's propensity and the attributed composite reward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kairos.evaluation.loop import LoopConfig, run_loop
from kairos.serving import policy_parts
from kairos.settings import DecideConfig, Settings
from serving.policy import Feedback, Policy, RulePolicy, SafePolicy
from simulator import SimulationConfig

__all__ = ["LOGGING_EPSILON", "LOGGING_HOLDOUT", "HistoryConfig", "LoggingPolicy", "collect_history", "warm_start"]

LOGGING_EPSILON = DecideConfig().rules_epsilon
"""The exploration share of the logging rules, spread evenly over the arms allowed (the rules' own arm included):
production's ``decide.rules_epsilon``."""

LOGGING_HOLDOUT = DecideConfig().rules_holdout
"""The logging rules' control group: this share of the decisions shows nothing (``none``): production's
``decide.rules_holdout``."""


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    """Which populations are logged, and how.

    Attributes:
        seeds: the populations logged (must not overlap the evaluated ones).
        epsilon: the logging policy's exploration share.
        holdout: the logging policy's control-group share (``none``).
    """

    seeds: tuple[int, ...] = (1001, 1002, 1003)
    epsilon: float = LOGGING_EPSILON
    holdout: float = LOGGING_HOLDOUT


class LoggingPolicy(SafePolicy):
    """The rules with ε-greedy exploration over arms and a control group, keeping every feedback instead of learning
    from it."""

    def __init__(self, rules: Policy, settings: Settings, epsilon: float, holdout: float = 0.0) -> None:
        encoder = policy_parts(settings).encoder
        super().__init__(rules, encoder, epsilon=epsilon, holdout=holdout, name="rules-logged")
        self.log: list[Feedback] = []

    def learn_one(self, feedback: Feedback) -> None:
        """Keep the feedback (the logging policy itself does not learn)."""
        self.log.append(feedback)


def collect_history(
    config: HistoryConfig,
    sim_config: Callable[[int], SimulationConfig],
    *,
    settings: Settings,
    loop: LoopConfig | None = None,
) -> tuple[Feedback, ...]:
    """Run the logging policy on every history seed and return the logged feedback, seed by seed, in settle order.

    Args:
        config: the seeds and the exploration share.
        sim_config: the simulation of one seed (the same population size and duration as the evaluation).
        settings: the state layout, action space and guardrails.
        loop: the loop's knobs.
    """
    logs: list[Feedback] = []
    encoder = policy_parts(settings).encoder
    for seed in config.seeds:
        policy = LoggingPolicy(RulePolicy(encoder), settings, config.epsilon, config.holdout)
        run_loop(sim_config(seed), policy, settings=settings, config=loop)
        logs.extend(policy.log)
    return tuple(logs)


def warm_start(policy: Policy, history: Sequence[Feedback]) -> None:
    """Let ``policy`` learn from ``history`` once, in order, before it decides (one pass: the safe policy's
    statistics would count a second pass over the same decisions as new evidence)."""
    for feedback in history:
        policy.learn_one(feedback)
