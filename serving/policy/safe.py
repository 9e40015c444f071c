"""Safe improvement over a baseline: follow the rules unless the logged data show, with confidence, a better action.

:class:`SafePolicy` is Kairos's learned decision policy. It is the rule policy (the baseline), except in the
*situations* where the off-policy estimate of another action's value beats the rules' value with confidence:

* A **situation** is a coarse state: the trigger type × whether the cart holds something × the baseline's own choice
  there (its arm). The last part matters: the rules decide on conditions the trigger does not show (a checkout
  started, an exit intent earlier in the session), so "product view with a cart" holds both the rules' upsells and
  their checkout nudges, and the estimate of doing something else there would mix two different comparisons.
  Refining by the baseline's choice compares every arm with *one* baseline action at a time — SPIBB's per-(state,
  baseline action) bootstrapping on a state abstraction. An **arm** is an action type, a discount counting once per
  level (``discount:10``…); a product offer's item is the baseline's choice among that type's candidates (then the
  generator's order).
* Per situation ``g`` and arm ``a`` it keeps self-normalised importance-weighted statistics (SNIPW) of the logged
  rewards: weight ``1 / π_log(a | s)`` with ``π_log(a | s)`` the logging policy's probability of arm ``a`` (the
  sum of its candidates' exact propensities). That estimates the value of *always taking* ``a`` in ``g`` where it
  is allowed. The same statistics of the decisions whose logged arm was the baseline's own choice, over the same
  decisions (those where ``a`` was allowed: guardrails take arms away in some states, e.g. a session at its cap),
  estimate the value of *following the rules* there; the two are compared on equal footing.
* **Control variate.** Most of a reward's variance is the shopper's state (a full cart converts, an empty one rarely
  does), not the action. The statistics hold ``r − b(s)``, with ``b`` a ridge regression of the reward on the state
  vector learned from every logged decision, each residual taken with ``b`` as it stood *before* that decision
  (prequential, so no decision is scored by a fit that saw it). ``b`` does not depend on the action, so it cancels
  from the advantage in expectation and only narrows its interval.
* The policy deviates to ``a`` in ``g`` only when the advantage's lower bound clears a margin,
  ``V(g, a) − V(g, rules) − z · se > margin`` (se: the delta-method standard errors of both SNIPW means), with the
  arms tested in a fixed sequence that keeps the family-wise error at ``1 − confidence``: first ``none`` — the
  control group's comparison, "would doing nothing here have earned more?", which the logging is designed for —
  at the one-sided ``confidence`` quantile; only if that one clears, the other arms, Bonferroni-corrected for their
  number (so that testing nine arms does not find a false winner one time in two). Where the rules already choose
  ``none``, the other arms are the family from the start. Both estimates need an effective sample size
  ``(Σw)² / Σw²`` of at least ``min_support`` — SPIBB's rule on a state abstraction:
  where the logs are thin, the baseline is copied, so with little data the policy *is* the rules, never below them.
* Statistics decay with ``half_life`` (in logged decisions of their situation): after a drift, old evidence fades,
  the effective samples shrink, the intervals widen and the policy falls back to the rules until new evidence says
  otherwise.
* Exploration is ε-greedy over arms (:func:`~serving.policy.exploration.grouped_epsilon_propensities`: ε spread
  evenly over the allowed arms, then over each arm's items; exact propensities, one draw seeded by the decision
  id), so ``none`` is explored as often as all the product offers together and its own logs stay learnable; when a
  guardrail masks its first pick, the baseline's fallback order holds. With no data it *is* the rules (plus ε):
  ``SafePolicy(rules, encoder, epsilon=0.2)`` with learning off is the logging policy that makes rule logs
  learnable; with ``holdout`` a further share goes to ``none`` (a control group: the comparison that matters most,
  "would doing nothing here have earned more?", gets the most data).

Every deviation can be explained in one line (:meth:`SafePolicy.why`). Pure and deterministic: no clock, the only
randomness is the decision's seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from schemas.decisions import InterventionType
from serving.policy.base import MASKED_SCORE, Feedback, Policy, check_batch
from serving.policy.errors import PolicyConfigError
from serving.policy.exploration import draw, grouped_epsilon_propensities
from serving.policy.state import TRIGGERS, StateEncoder

__all__ = ["ArmStats", "SafePolicy"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_CONFIDENT = 10.0  # confident alternatives score above every rule preference (rules use -1 .. 3)
_TYPES = tuple(InterventionType)
_DISCOUNT = _TYPES.index(InterventionType.DISCOUNT)
_NONE = _TYPES.index(InterventionType.NONE)
_CELL = 1000  # a situation is cell * _CELL + the baseline's arm (arms are < 1000: types, 100 + discount level)


def _best_arms(scores: F64, arms: npt.NDArray[np.intp], mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """The arm of each row's best allowed candidate ``[N]`` (the baseline's choice, from its scores)."""
    best = np.argmax(np.where(mask, scores, -np.inf), axis=1)
    return np.asarray(arms[np.arange(len(arms)), best], dtype=np.intp)


def _arm_rank(arm: int) -> int:
    """A small distinct number per arm (types 0..6, discounts 7 + percent)."""
    return arm if arm < 100 else 7 + (arm - 100)


@dataclass(slots=True)
class ArmStats:
    """Decayed sums for a self-normalised importance-weighted mean and its delta-method standard error.

    >>> stats = ArmStats()
    >>> for weight, reward in ((1.0, 1.0), (1.0, 0.0), (2.0, 1.0)):
    ...     stats.add(weight, reward)
    >>> round(stats.mean, 4), round(stats.effective_n, 4)
    (0.75, 2.6667)
    """

    w: float = 0.0
    wr: float = 0.0
    w2: float = 0.0
    w2r: float = 0.0
    w2r2: float = 0.0

    def add(self, weight: float, reward: float) -> None:
        """Add one weighted reward."""
        w2 = weight * weight
        self.w += weight
        self.wr += weight * reward
        self.w2 += w2
        self.w2r += w2 * reward
        self.w2r2 += w2 * reward * reward

    def fade(self, decay: float) -> None:
        """Scale every sum by ``decay`` (the mean is unchanged, the evidence weighs less)."""
        if decay < 1.0:
            self.w, self.wr, self.w2 = self.w * decay, self.wr * decay, self.w2 * decay
            self.w2r, self.w2r2 = self.w2r * decay, self.w2r2 * decay

    @property
    def mean(self) -> float:
        """The SNIPW mean (0 with no data)."""
        return self.wr / self.w if self.w > 0 else 0.0

    @property
    def effective_n(self) -> float:
        """Kish's effective sample size ``(Σw)² / Σw²``."""
        return self.w * self.w / self.w2 if self.w2 > 0 else 0.0

    @property
    def stderr(self) -> float:
        """``sqrt(Σ w² (r − mean)²) / Σw`` (infinite with no data)."""
        if self.w <= 0:
            return math.inf
        m = self.mean
        spread = max(0.0, self.w2r2 - 2.0 * m * self.w2r + m * m * self.w2)
        return math.sqrt(spread) / self.w


class SafePolicy:
    """The baseline, except where the logged data show with confidence that another arm earns more (module doc).

    Args:
        baseline: the greedy policy it improves on (the rules); its scores order the fallbacks and the items.
        encoder: the vector layout (locates the trigger one-hot, the cart, the type one-hot, the discount level).
        confidence: the one-sided confidence of the advantage's lower bound, over all the arms of a situation.
        margin: the advantage (reward units) it must clear on top of that.
        min_support: the effective sample size both estimates need.
        half_life: statistics halve every this many logged decisions of their situation (0: never forget).
        ridge: the L2 penalty of the state baseline ``b`` (0 disables the control variate).
        epsilon: the ε-greedy exploration share.
        holdout: a further share on ``none`` (candidate 0): a control group (0 by default).
        name: the policy name logged on decisions.

    Raises:
        PolicyConfigError: ``confidence`` outside (0, 1), a negative ``margin``, ``min_support`` or ``half_life``,
            or ``epsilon`` outside [0, 1].
    """

    def __init__(
        self,
        baseline: Policy,
        encoder: StateEncoder,
        *,
        confidence: float = 0.95,
        margin: float = 0.0,
        min_support: float = 50.0,
        half_life: float = 20_000.0,
        ridge: float = 10.0,
        epsilon: float = 0.05,
        holdout: float = 0.0,
        name: str = "safe",
    ) -> None:
        bad = not 0.0 < confidence < 1.0 or not 0.0 <= epsilon <= 1.0 or not 0.0 <= holdout <= 1.0 - epsilon
        if bad or margin < 0 or min_support < 0 or half_life < 0 or ridge < 0:
            raise PolicyConfigError(
                f"bad safe policy: {confidence=} {margin=} {min_support=} {half_life=} {epsilon=} {holdout=}"
            )
        self.name = name
        self.baseline = baseline
        self.state_dim, self.action_dim = encoder.state_dim, encoder.action_dim
        self.confidence, self.margin, self.min_support = confidence, margin, min_support
        self.epsilon, self.holdout = epsilon, holdout
        self.decay = 0.5 ** (1.0 / half_life) if half_life > 0 else 1.0
        self._triggers = np.array([encoder.state_index(f"trigger={t}") for t in TRIGGERS])
        self._cart = encoder.state_index("cart_size")
        self._types = np.array([encoder.action_index(f"type={t.value}") for t in _TYPES])
        self._pct = encoder.action_index("discount_pct")
        # situation -> arm -> (the arm's statistics, the rules' statistics over the decisions where the arm was allowed)
        self.stats: dict[int, dict[int, tuple[ArmStats, ArmStats]]] = {}
        self.ridge = ridge
        width = encoder.state_dim + 1  # the state and an intercept
        self._xtx = np.zeros((width, width), dtype=np.float64)
        self._xty = np.zeros(width, dtype=np.float64)
        self._coef: F64 = np.zeros(width, dtype=np.float64)
        self._refit_every = 256
        self.learned = 0

    @property
    def version(self) -> str:
        """``<name>-n<feedback learned>``: the estimates change with every feedback."""
        return f"{self.name}-n{self.learned}"

    # -- situations and arms --------------------------------------------------------------------------------------

    def situation_of(self, states: F32, candidates: F32, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
        """The situation of each decision ``[N]``: ``(2 × trigger + (cart not empty)) × 1000 + the baseline's arm``."""
        s, c, m = check_batch(states, candidates, mask, self.state_dim, self.action_dim)
        return self._situations(s, _best_arms(self.baseline.scores(s, c, m), self.arms_of(c), m))

    def _situations(self, s: F32, rule_arms: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        trigger = np.argmax(s[:, self._triggers], axis=1)
        return np.asarray((2 * trigger + (s[:, self._cart] > 0)) * _CELL + rule_arms, dtype=np.intp)

    def arms_of(self, candidates: F32) -> npt.NDArray[np.intp]:
        """The arm of each candidate ``[..., K]``: its type index, a discount ``100 + percent`` (one arm a level)."""
        kind = np.argmax(candidates[..., self._types], axis=-1)
        level = np.rint(candidates[..., self._pct] * 100.0).astype(np.intp)
        return np.asarray(np.where(kind == _DISCOUNT, 100 + level, kind), dtype=np.intp)

    @staticmethod
    def arm_name(arm: int) -> str:
        """``none``, ``upsell``…, ``discount:10``."""
        return f"discount:{arm - 100}" if arm >= 100 else _TYPES[arm].value

    @classmethod
    def situation_name(cls, situation: int) -> str:
        """``<trigger>/<cart|empty>/rules:<arm>``."""
        cell, rule_arm = divmod(situation, _CELL)
        return f"{TRIGGERS[cell // 2]}/{'cart' if cell % 2 else 'empty'}/rules:{cls.arm_name(rule_arm)}"

    # -- estimates ------------------------------------------------------------------------------------------------

    def advantage(self, situation: int, arm: int) -> tuple[float, float, float] | None:
        """``(advantage, standard error, effective samples)`` of ``arm`` over the rules in ``situation``, or ``None``
        when either estimate lacks ``min_support`` effective samples."""
        pair = self.stats.get(situation, {}).get(arm)
        if pair is None:
            return None
        this, rules = pair
        n = min(this.effective_n, rules.effective_n)
        if n < self.min_support:
            return None
        return this.mean - rules.mean, math.hypot(this.stderr, rules.stderr), n

    def z(self, situation: int, arm: int) -> float:
        """The standard errors the advantage of ``arm`` must clear in ``situation`` (the fixed sequence of the
        module doc): ``none`` at the one-sided ``confidence`` quantile; the others Bonferroni-corrected for their
        number, and only once ``none`` cleared (infinite until then) when ``none`` is compared there."""
        arms = self.stats.get(situation, {})
        alpha = 1.0 - self.confidence
        if arm == _NONE and _NONE in arms:
            return NormalDist().inv_cdf(1.0 - alpha)
        if _NONE in arms and not self._clears(situation, _NONE):
            return math.inf
        others = max(1, len(arms) - (1 if _NONE in arms else 0))
        return NormalDist().inv_cdf(1.0 - alpha / others)

    def _clears(self, situation: int, arm: int) -> bool:
        found = self.advantage(situation, arm)
        if found is None:
            return False
        gain, se, _ = found
        return gain - self.z(situation, arm) * se > self.margin

    def confident(self, situation: int, arm: int) -> float | None:
        """The advantage of ``arm`` when its lower bound clears the margin, else ``None``."""
        found = self.advantage(situation, arm)
        return found[0] if found is not None and self._clears(situation, arm) else None

    def why(self, situation: int, arm: int) -> str:
        """One line: the estimate behind choosing (or not choosing) ``arm`` in ``situation``."""
        found = self.advantage(situation, arm)
        where = f"{self.situation_name(situation)}: {self.arm_name(arm)} vs rules"
        if found is None:
            return f"{where}: too few logged decisions (min {self.min_support:g} effective)"
        gain, se, n = found
        return f"{where}: {gain:+.3f} ± {self.z(situation, arm) * se:.3f} (n_eff {n:.0f})"

    # -- policy ---------------------------------------------------------------------------------------------------

    def scores(self, state: F32, candidates: F32, mask: npt.NDArray[np.bool_]) -> F64:
        """One score per arm, shared by its candidates: the baseline's best preference among them, or above every
        preference (by advantage) when the arm is confident; a tiny per-arm offset keeps arms apart. Masked
        ``MASKED_SCORE``. The best allowed score is the safe choice; equal scores are one exploration group."""
        s, c, m = check_batch(state, candidates, mask, self.state_dim, self.action_dim)
        base = self.baseline.scores(s, c, m)
        out = np.full(base.shape, MASKED_SCORE, dtype=np.float64)
        arms = self.arms_of(c)
        situations = self._situations(s, _best_arms(base, arms, m))
        for i, situation in enumerate(situations.tolist()):
            allowed = np.flatnonzero(m[i])
            row_arms = arms[i, allowed]
            for arm in np.unique(row_arms).tolist():
                members = allowed[row_arms == arm]
                gain = self.confident(situation, arm)
                preference = _CONFIDENT + gain if gain is not None else float(base[i, members].max())
                out[i, members] = preference - 1e-6 * _arm_rank(arm)
        return out

    def choose(self, scores: F64, mask: npt.NDArray[np.bool_], seed: int) -> tuple[int, F64]:
        """ε-greedy over arms on the safe scores: exact propensities, one seeded draw."""
        propensities = grouped_epsilon_propensities(scores, mask, self.epsilon, self.holdout)
        return draw(propensities, seed), propensities

    def learn_one(self, feedback: Feedback) -> None:
        """Add one logged decision to its situation's statistics: for every arm allowed in it, the arm's estimate
        when the logged arm was that arm, the rules' when it was the baseline's choice, each weighted by the inverse
        of the logging policy's probability of the logged arm."""
        state, cands, mask = feedback.state[None], feedback.candidates[None], feedback.mask[None]
        arms = self.arms_of(cands)[0]
        logged = int(arms[feedback.chosen])
        rule_arms = _best_arms(self.baseline.scores(state, cands, mask), arms[None], mask)
        rule_arm = int(rule_arms[0])
        situation = int(self._situations(state, rule_arms)[0])
        given = feedback.propensities  # without them, only the chosen candidate's propensity is known
        p_arm = float(np.sum(given[arms == logged])) if given is not None else feedback.propensity
        weight = 1.0 / max(p_arm, 1e-12)
        residual = feedback.reward - self.baseline_value(feedback.state) if self.ridge > 0 else feedback.reward
        arms_stats = self.stats.setdefault(situation, {})
        for this, rules in arms_stats.values():  # one more decision of this situation: older evidence fades
            this.fade(self.decay)
            rules.fade(self.decay)
        for arm in np.unique(arms[feedback.mask]).tolist():
            if arm == rule_arm:
                continue
            this, rules = arms_stats.setdefault(arm, (ArmStats(), ArmStats()))
            if logged == arm:
                this.add(weight, residual)
            elif logged == rule_arm:
                rules.add(weight, residual)
        if self.ridge > 0:
            self._observe(feedback.state, feedback.reward)
        self.learned += 1

    def baseline_value(self, state: F32) -> float:
        """The control variate ``b(s)``: the ridge estimate of the reward in ``state`` whatever the action."""
        return float(self._coef[:-1] @ np.asarray(state, dtype=np.float64) + self._coef[-1])

    def _observe(self, state: F32, reward: float) -> None:
        x = np.append(np.asarray(state, dtype=np.float64), 1.0)
        self._xtx += np.outer(x, x)
        self._xty += reward * x
        if (self.learned + 1) % self._refit_every == 0:  # refit now and then: the solve costs ~50 µs
            penalty = self.ridge * np.eye(len(x))
            penalty[-1, -1] = 0.0  # the intercept is not shrunk
            self._coef = np.asarray(np.linalg.solve(self._xtx + penalty, self._xty), dtype=np.float64)

    def learn_many(self, feedbacks: Sequence[Feedback]) -> None:
        """:meth:`learn_one` for each feedback, in order (an offline log, a replay)."""
        for feedback in feedbacks:
            self.learn_one(feedback)

    def table(self) -> list[dict[str, object]]:
        """Every situation and arm with data: its mean residual (reward minus the state baseline), standard error,
        effective samples, advantage over the rules and whether the policy deviates to it (for reports and
        ``kairos explain``)."""
        rows: list[dict[str, object]] = []
        for situation, arms in sorted(self.stats.items()):
            for arm, (this, rules) in sorted(arms.items()):
                found = self.advantage(situation, arm)
                rows.append(
                    {
                        "situation": self.situation_name(situation),
                        "arm": self.arm_name(arm),
                        "residual": round(this.mean, 4),
                        "rules_residual": round(rules.mean, 4),
                        "n_eff": round(min(this.effective_n, rules.effective_n), 1),
                        "advantage": round(found[0], 4) if found else None,
                        "stderr": round(found[1], 4) if found else None,
                        "deviates": self.confident(situation, arm) is not None,
                    }
                )
        return rows
