"""Serving: policies, River learners, Triton model code and the tritonclient adapter (issue 4)."""

__all__: list[str] = []
