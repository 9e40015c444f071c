"""Agents: the only place where adapters (Kafka, Feast, Triton) meet the pure logic; one stage per module."""

__all__: list[str] = []
