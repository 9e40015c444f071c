"""Errors of the streams layer, under the one Kairos taxonomy."""

from __future__ import annotations

from schemas.errors import KairosError, TransientError

__all__ = ["BrokerBinaryError", "BrokerStartError", "DeliveryError", "TopicLayoutError", "TopicMissingError"]


class BrokerBinaryError(KairosError):
    """The embedded broker binary is missing or is not the build Kairos was tested with."""


class BrokerStartError(KairosError):
    """The embedded broker did not become ready."""


class TopicLayoutError(KairosError):
    """Topics exist with a layout Kairos cannot run on (e.g. partition counts that break co-partitioning)."""


class TopicMissingError(TopicLayoutError):
    """A topic Kairos reads whole does not exist, or has no partitions."""


class DeliveryError(TransientError):
    """The broker did not acknowledge records; their source offsets must not be committed."""
