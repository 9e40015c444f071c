"""What ``python -m pytest`` collects beside tests/: every package module's doctests (``--doctest-modules``), but
these, which cannot be imported in the test environment."""

from __future__ import annotations

import pytest

collect_ignore = [
    # Triton's Python backend models import triton_python_backend_utils, which exists only inside tritonserver.
    "serving/inference/python_models",
    # Runs in the Triton server environment (.venv-triton) and imports pytriton, which .venv does not have.
    "bench/pytriton_policy.py",
]

_STALE = {
    # Its example expects 0.4108; the formula in its docstring gives 0.3097 for lifts 0.1/0.3/0.2 (sd 0.1, n 3,
    # t 4.303 + 1.061). kairos/evaluation is being changed by its owner: they fix the example, then drop this entry
    # (strict: the run fails once it passes).
    "kairos.evaluation.stats.minimum_detectable_lift": "stale expected value in the example",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the doctests known to be stale as strict expected failures."""
    for item in items:
        reason = _STALE.get(item.name)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
