"""What ``python -m pytest`` collects beside tests/: every package module's doctests (``--doctest-modules``), but
these, which cannot be imported in the test environment."""

from __future__ import annotations

collect_ignore = [
    # Triton's Python backend models import triton_python_backend_utils, which exists only inside tritonserver.
    "serving/inference/python_models",
    # Runs in the Triton server environment (.venv-triton) and imports pytriton, which .venv does not have.
    "bench/pytriton_policy.py",
]
