"""The circuit breaker against a real tritonserver that goes away: failures, then fast refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schemas.errors import TransientError
from serving.inference import (
    POLICY_MODEL,
    BreakerState,
    InferenceUnavailableError,
    PolicyClient,
    TritonConnection,
    UnavailableReason,
)
from tests.integration.triton_fixtures import local_scores, policy_inputs, start_policy_server

pytestmark = pytest.mark.integration


def test_breaker_opens_when_the_server_stops(tmp_path: Path) -> None:
    """A server of its own (policy only), since this test stops it."""
    harness = start_policy_server(tmp_path / "models", tmp_path / "tritonserver.log", (POLICY_MODEL,))
    connection = TritonConnection(harness.server.grpc_url, failure_threshold=3, cooldown_s=3600.0)
    client = PolicyClient(connection, timeout_s=10.0)
    states, candidates, mask = policy_inputs(2, seed=5)
    try:
        scores = client.score_sync(states, candidates, mask)
        np.testing.assert_allclose(scores, local_scores(harness.policies[1], states, candidates, mask), rtol=1e-5)
        assert client.breaker_state is BreakerState.CLOSED

        harness.server.stop()
        reasons = []
        for _ in range(3):
            with pytest.raises(InferenceUnavailableError) as failure:
                client.score_sync(states, candidates, mask)
            reasons.append(failure.value.reason)
        assert set(reasons) <= {UnavailableReason.UNAVAILABLE, UnavailableReason.TIMEOUT}
        assert client.breaker_state is BreakerState.OPEN

        with pytest.raises(InferenceUnavailableError) as refused:
            client.score_sync(states, candidates, mask)
        assert refused.value.reason is UnavailableReason.CIRCUIT_OPEN
        assert isinstance(refused.value, TransientError)
    finally:
        connection.close()
        harness.server.stop()
