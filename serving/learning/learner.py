"""The learner's core: feedback to a candidate copy of the policy, proposals on a cadence, promotion by the gate.

Pure and synchronous; time is a parameter (event time of the newest record). The agent (``agents/learn.py``) does
the I/O: it feeds contexts and final rewards in, and publishes what :meth:`OnlineLearner.propose` promotes.

* Joined rounds are split by a digest of the decision id: a ``holdout`` share is kept for evaluation only (the
  newest ``eval_window`` of them), the rest is learned by the *candidate* (``learn_one``). Evaluating on rounds
  the candidate never learned from keeps the gate honest (no in-sample optimism).
* The *incumbent* is a frozen copy of the version serving now.
* A proposal is due every ``propose_every`` updates, or ``propose_interval_s`` of event time after the last one
  when the candidate learned anything since, once ``min_samples`` held-out rounds exist. The gate compares the
  candidate and the incumbent as target policies on the held-out rounds (:func:`~serving.learning.compare`); on
  promotion the incumbent becomes a copy of the candidate and the version number goes up by one.
* A candidate whose scores stop being finite (SGD blew up) is replaced by a copy of the incumbent (``resets``);
  a context whose arrays do not fit the policy is skipped (``skipped``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import math
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from schemas.contexts import DecisionContext
from serving.learning.contexts import ContextStore
from serving.learning.errors import LearningConfigError
from serving.learning.evaluation import GateEstimator, compare
from serving.learning.join import FeedbackJoin, Round, feedback_of
from serving.ope import OPEInputError, PromotionDecision
from serving.policy.base import Policy
from serving.policy.errors import PolicyDivergedError, PolicyInputError, UnknownStratumError

__all__ = ["LearnerConfig", "OnlineLearner", "Proposal", "is_holdout"]

P = TypeVar("P", bound=Policy)


@dataclass(frozen=True, slots=True)
class LearnerConfig:
    """The learner's knobs (see ``Settings.learn``).

    Attributes:
        propose_every: candidate updates between proposals.
        propose_interval_s: event-time seconds after which a proposal is due anyway (if anything was learned).
        min_samples: held-out rounds needed before the gate may run.
        eval_window: newest held-out rounds the gate evaluates on.
        holdout: share of rounds kept for evaluation, in [0, 1).
        margin: required improvement of the estimated reward per decision, >= 0.
        confidence: one-sided confidence of the improvement's lower bound, in (0, 1).
        estimator: ``"snipw"`` or ``"ipw"``.
        max_weight: clip of the importance weights.
        n_bootstrap: bootstrap resamples of the gate.
        seed: the gate's bootstrap seed.
        join_capacity: most contexts (of a memory store) and early rewards waiting to be joined.
        join_ttl_s: event-time seconds a context waits for its reward (at least the learning reward's delay: the
            attribution's early horizon, 3 h, plus its lateness).

    Raises:
        LearningConfigError: a value out of range.
    """

    propose_every: int = 1000
    propose_interval_s: float = 600.0
    min_samples: int = 200
    eval_window: int = 5000
    holdout: float = 0.2
    margin: float = 0.01
    confidence: float = 0.95
    estimator: GateEstimator = "snipw"
    max_weight: float = 50.0
    n_bootstrap: int = 1000
    seed: int = 12345
    join_capacity: int = 100_000
    join_ttl_s: float = 14_400.0

    def __post_init__(self) -> None:
        """Reject values the learner cannot honour."""
        if self.propose_every < 1 or not self.propose_interval_s > 0 or self.min_samples < 2:
            raise LearningConfigError(f"bad cadence: {self.propose_every=} {self.propose_interval_s=}")
        if self.eval_window < self.min_samples or not 0.0 <= self.holdout < 1.0:
            raise LearningConfigError(f"bad evaluation: {self.eval_window=} {self.min_samples=} {self.holdout=}")
        if not self.margin >= 0 or not 0 < self.confidence < 1 or self.estimator not in ("snipw", "ipw"):
            raise LearningConfigError(f"bad gate: {self.margin=} {self.confidence=} {self.estimator=}")


@dataclass(frozen=True, slots=True)
class Proposal:
    """One run of the gate.

    Attributes:
        decision: the gate's verdict and numbers.
        candidate_version: the candidate's ``version`` when proposed.
        incumbent_version: the incumbent's before the verdict.
        model_version: the serving version after the verdict (one more on promotion).
        rounds: held-out rounds evaluated.
        baseline: the verdict of the candidate against the baseline (the rules) on the same rounds, when the gate
            has one: the candidate must beat both.
    """

    decision: PromotionDecision
    candidate_version: str
    incumbent_version: str
    model_version: int
    rounds: int
    baseline: PromotionDecision | None = None

    @property
    def promoted(self) -> bool:
        """Whether the candidate became the incumbent: it beat the incumbent and, if there is one, the baseline."""
        return self.decision.promote and (self.baseline is None or self.baseline.promote)

    @property
    def reason(self) -> str:
        """One line for logs: both verdicts."""
        if self.baseline is None:
            return self.decision.reason
        return f"vs incumbent: {self.decision.reason}; vs rules: {self.baseline.reason}"


def is_holdout(decision_id: str, share: float) -> bool:
    """Whether a decision is kept for evaluation: a stable digest of its id below ``share``.

    >>> is_holdout("d-1", 0.0), is_holdout("d-1", 0.999999)
    (False, True)
    """
    if share <= 0.0:
        return False
    digest = int.from_bytes(hashlib.blake2b(decision_id.encode(), digest_size=8).digest(), "big")
    return digest / 2**64 < share


class OnlineLearner(Generic[P]):
    """Learns a candidate online and promotes it over the incumbent when the gate says so.

    Args:
        policy: the version serving now (copied: the learner never mutates the caller's object).
        config: the knobs.
        model_version: the serving version number of ``policy``.
        contexts: where contexts wait for their rewards (default: in memory, ``join_capacity`` of them).
        baseline: a policy the candidate must also beat on the held-out rounds to be promoted (production: the
            rules, so no learned version that the rules beat on the shop's own logs is ever served); ``None``: only
            the incumbent.
    """

    def __init__(
        self,
        policy: P,
        config: LearnerConfig | None = None,
        *,
        model_version: int = 1,
        contexts: ContextStore | None = None,
        baseline: Policy | None = None,
    ) -> None:
        self.config = config or LearnerConfig()
        self.baseline = baseline
        self.incumbent: P = copy.deepcopy(policy)
        self.candidate: P = copy.deepcopy(policy)
        self.model_version = model_version
        self.join = FeedbackJoin(capacity=self.config.join_capacity, ttl_s=self.config.join_ttl_s, store=contexts)
        self.evaluation: deque[Round] = deque(maxlen=self.config.eval_window)
        self.updates = 0
        self.diverged = 0
        self.skipped = 0
        self.resets = 0
        self._since_proposal = 0
        self._last_proposal_s: float | None = None

    def observe_context(self, context: DecisionContext) -> Round | None:
        """Take a decision context; learn from it if its reward already came. Returns the joined round, if any."""
        joined = self.join.add_context(context)
        if joined is not None:
            self._use(joined)
        return joined

    def observe_reward(self, decision_id: str, value: float, event_time_s: float) -> Round | None:
        """Take a decision's learning reward; learn from it if its context already came. Returns the joined round."""
        joined = self.join.add_reward(decision_id, value, event_time_s)
        if joined is not None:
            self._use(joined)
        return joined

    def _use(self, joined: Round) -> None:
        if is_holdout(joined.context.decision_id, self.config.holdout):
            self.evaluation.append(joined)
            return
        try:
            self.candidate.learn_one(feedback_of(joined))
        except PolicyDivergedError:
            self.diverged += 1  # the step was skipped, the weights are unchanged
            return
        except (PolicyInputError, UnknownStratumError):
            self.skipped += 1  # a context whose arrays do not fit the policy: nothing learned
            return
        self.updates += 1
        self._since_proposal += 1
        if self._last_proposal_s is None:  # the interval counts from the first update
            self._last_proposal_s = joined.context.event_time.timestamp()

    def due(self, now_s: float) -> bool:
        """Whether :meth:`propose` would run the gate now."""
        if self._since_proposal == 0 or len(self.evaluation) < self.config.min_samples:
            return False
        if self._since_proposal >= self.config.propose_every:
            return True
        last = self._last_proposal_s
        return last is not None and now_s - last >= self.config.propose_interval_s

    def propose(self, now_s: float, *, force: bool = False) -> Proposal | None:
        """Run the gate if a proposal is due (or ``force`` with enough held-out rounds); promote on its verdict.

        Returns:
            The proposal, or ``None`` when none was due, the rounds cannot value the policies, or the candidate
            diverged (it is reset to the incumbent).
        """
        if not (self.due(now_s) or (force and len(self.evaluation) >= self.config.min_samples)):
            return None
        self._since_proposal = 0
        self._last_proposal_s = now_s
        cfg = self.config
        rounds = list(self.evaluation)
        gate = functools.partial(
            compare,
            confidence=cfg.confidence,
            estimator=cfg.estimator,
            max_weight=cfg.max_weight if cfg.max_weight > 0 else math.inf,
            n_bootstrap=cfg.n_bootstrap,
            seed=cfg.seed,
        )
        try:
            verdict = gate(self.candidate, self.incumbent, rounds, margin=cfg.margin)
            versus = None
            if self.baseline is not None and verdict.promote:
                versus = gate(self.candidate, self.baseline, rounds, margin=0.0)
        except PolicyInputError:  # the candidate's scores are no longer finite: start again from the incumbent
            self.candidate = copy.deepcopy(self.incumbent)
            self.resets += 1
            return None
        except OPEInputError:  # the rounds cannot value the policies (e.g. no weight on any logged action)
            return None
        incumbent_version = self.incumbent.version
        proposal = Proposal(verdict, self.candidate.version, incumbent_version, self.model_version, len(rounds), versus)
        if proposal.promoted:
            self.incumbent = copy.deepcopy(self.candidate)
            self.model_version += 1
            proposal = dataclasses.replace(proposal, model_version=self.model_version)
        return proposal
