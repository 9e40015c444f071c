"""Logged bandit rounds and an evaluation policy's arrays, validated once: what every estimator reads.

Shapes follow the Open Bandit Pipeline's: ``n`` logged rounds, ``n_actions`` actions, ``len_list`` slots.

* :class:`LoggedBandit` — what the logging policy did: ``actions[n]`` (the chosen action's index), ``rewards[n]``,
  ``pscore[n]`` (the probability the logging policy gave that action, in (0, 1]) and, for slates, ``position[n]``
  (the slot the action was shown in). Arrays are copied and made read-only, and digested: two estimates are
  comparable only when they were computed on the same digest.
* :func:`resolve` — the evaluation policy's ``action_dist[n, n_actions(, len_list)]`` (a distribution over actions
  per round and slot) and an optional reward model's ``estimated_rewards[n, n_actions(, len_list)]``, checked against
  the log and sliced at each round's logged slot: :class:`PolicyArrays` holds ``pi[n, n_actions]`` and
  ``q_hat[n, n_actions]``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from serving.ope.errors import OPEInputError

__all__ = ["FloatArray", "IntArray", "LoggedBandit", "PolicyArrays", "resolve"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class LoggedBandit:
    """Logged bandit rounds: the logging policy's actions, their propensities and the rewards they earned.

    Attributes:
        actions: ``int[n]``, the chosen action's index per round (non-negative).
        rewards: ``float[n]``, finite.
        pscore: ``float[n]``, the logging policy's probability of the chosen action, in (0, 1].
        position: ``int[n]`` slot per round for slates, or ``None`` (one slot).
        digest: BLAKE2b of the four arrays (set on construction): equal logs, equal digests. Logs compare by
            identity (they hold arrays); compare digests.

    Raises:
        OPEInputError: empty log, shapes that disagree, a negative action or position, a non-finite reward, a
            propensity outside (0, 1].

    >>> log = LoggedBandit(np.array([0, 1]), np.array([1.0, 0.0]), np.array([0.5, 0.5]))
    >>> log.n_rounds, log.actions.flags.writeable
    (2, False)
    """

    actions: IntArray
    rewards: FloatArray
    pscore: FloatArray
    position: IntArray | None = None
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        """Copy, check and freeze the arrays, then digest them."""
        actions = _integers(self.actions, "actions")
        n = actions.shape[0]
        if n == 0:
            raise OPEInputError("the log has no rounds")
        rewards = _floats(self.rewards, "rewards", n)
        pscore = _floats(self.pscore, "pscore", n)
        if bool(np.any(pscore <= 0.0)) or bool(np.any(pscore > 1.0)):
            raise OPEInputError(
                "pscore must be in (0, 1]: a logged action had probability 0 or the value is no probability"
            )
        position = None if self.position is None else _integers(self.position, "position", n)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "rewards", rewards)
        object.__setattr__(self, "pscore", pscore)
        object.__setattr__(self, "position", position)
        digest = hashlib.blake2b(digest_size=16)
        for array in (actions, rewards, pscore, position if position is not None else np.zeros(0, np.int64)):
            digest.update(array.tobytes())
        object.__setattr__(self, "digest", digest.hexdigest())

    @property
    def n_rounds(self) -> int:
        """The number of logged rounds."""
        return int(self.actions.shape[0])

    def __reduce__(self) -> tuple[type[LoggedBandit], tuple[IntArray, FloatArray, FloatArray, IntArray | None]]:
        """Unpickle through the constructor: the arrays come back checked, read-only and digested."""
        return (LoggedBandit, (self.actions, self.rewards, self.pscore, self.position))


@dataclass(frozen=True, slots=True, eq=False)
class PolicyArrays:
    """An evaluation policy (and reward model) at each round's logged slot.

    Attributes:
        pi: ``float[n, n_actions]``, the evaluation policy's distribution over actions in the logged slot.
        q_hat: ``float[n, n_actions]``, the reward model's predictions in the logged slot, or ``None``.
    """

    pi: FloatArray
    q_hat: FloatArray | None


def resolve(
    log: LoggedBandit, action_dist: npt.ArrayLike, estimated_rewards: npt.ArrayLike | None = None
) -> PolicyArrays:
    """Check an evaluation policy's distribution (and reward predictions) against a log; slice them at each slot.

    Args:
        log: the logged rounds.
        action_dist: ``[n, n_actions]`` or ``[n, n_actions, len_list]``: non-negative, summing to 1 over actions
            for every round and slot (``numpy.allclose``, as OBP checks).
        estimated_rewards: ``[n, n_actions]`` (the same for every slot) or ``[n, n_actions, len_list]``, finite.

    Returns:
        The arrays at each round's logged slot (slot 0 when the log has no positions).

    Raises:
        OPEInputError: a shape that disagrees with the log, a logged action or position out of range, a
            distribution that is not one, non-finite values, or ``len_list > 1`` with no logged positions.

    >>> log = LoggedBandit(np.array([1]), np.array([1.0]), np.array([0.5]))
    >>> resolve(log, [[0.25, 0.75]], [[0.0, 2.0]]).pi.tolist()
    [[0.25, 0.75]]
    """
    dist = _as_3d(action_dist, "action_dist")
    n, n_actions, len_list = dist.shape
    if n != log.n_rounds:
        raise OPEInputError(f"action_dist has {n} rounds, the log {log.n_rounds}")
    if not bool(np.all(np.isfinite(dist))) or bool(np.any(dist < 0.0)):
        raise OPEInputError("action_dist must be finite and non-negative")
    if not np.allclose(dist.sum(axis=1), 1.0):
        raise OPEInputError("action_dist must sum to 1 over actions for every round and slot")
    if int(log.actions.max()) >= n_actions:
        raise OPEInputError(f"a logged action is >= n_actions = {n_actions}")
    if log.position is None:
        if len_list > 1:
            raise OPEInputError(f"action_dist has len_list = {len_list} but the log has no positions")
        position = np.zeros(n, dtype=np.int64)
    else:
        position = log.position
        if int(position.max()) >= len_list:
            raise OPEInputError(f"a logged position is >= len_list = {len_list}")
    rows = np.arange(n)
    pi = np.ascontiguousarray(dist[rows, :, position])
    if estimated_rewards is None:
        return PolicyArrays(pi=pi, q_hat=None)
    q = np.asarray(estimated_rewards, dtype=np.float64)
    if q.ndim == 2:  # the same predictions in every slot
        q = q[:, :, None]
    if q.ndim != 3 or q.shape[:2] != (n, n_actions) or q.shape[2] not in (1, len_list):
        raise OPEInputError(f"estimated_rewards {q.shape} does not match action_dist {dist.shape}")
    if not bool(np.all(np.isfinite(q))):
        raise OPEInputError("estimated_rewards must be finite")
    q_hat = q[rows, :, position if q.shape[2] > 1 else 0]
    return PolicyArrays(pi=pi, q_hat=np.ascontiguousarray(q_hat))


def _as_3d(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise OPEInputError(f"{name} must be [n, n_actions] or [n, n_actions, len_list], got shape {array.shape}")
    return array


def _integers(values: npt.ArrayLike, name: str, n: int | None = None) -> IntArray:
    raw = np.asarray(values)
    if raw.ndim != 1 or (n is not None and raw.shape[0] != n):
        raise OPEInputError(f"{name} must be 1-d with {n if n is not None else 'n'} rounds, got shape {raw.shape}")
    if raw.size and not np.issubdtype(raw.dtype, np.integer):
        raise OPEInputError(f"{name} must hold integers, got {raw.dtype}")
    array = raw.astype(np.int64, copy=True)
    if bool(np.any(array < 0)):
        raise OPEInputError(f"{name} must be non-negative")
    array.setflags(write=False)
    return array


def _floats(values: npt.ArrayLike, name: str, n: int) -> FloatArray:
    array = np.array(values, dtype=np.float64, copy=True)
    if array.shape != (n,):
        raise OPEInputError(f"{name} must be 1-d with {n} rounds, got shape {array.shape}")
    if not bool(np.all(np.isfinite(array))):
        raise OPEInputError(f"{name} must be finite")
    array.setflags(write=False)
    return array
