"""Errors the simulator raises on purpose, under the one Kairos base."""

from __future__ import annotations

from schemas.errors import KairosError

__all__ = ["BadDecisionError", "SimulatorConfigError", "SimulatorError", "TopicMissingError"]


class SimulatorError(KairosError):
    """Base of every simulator error."""


class SimulatorConfigError(SimulatorError, ValueError):
    """A :class:`~simulator.config.SimulationConfig` value is out of range."""


class BadDecisionError(SimulatorError):
    """A decision payload from the interventions topic cannot be decoded or does not fit the simulation."""


class TopicMissingError(SimulatorError):
    """A topic the runner needs does not exist (Tansu would auto-create it with 4 partitions)."""
