"""Closed-loop evaluation: policies run against the shopper simulator in process, scored by rewards and the oracle."""

from kairos.evaluation.loop import LoopConfig, LoopResult, RoundResult, loop_attribution, run_loop

__all__ = ["LoopConfig", "LoopResult", "RoundResult", "loop_attribution", "run_loop"]
