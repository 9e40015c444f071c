"""The concierge agent routes with the head ``kairos_intent`` serves; it trains one only when none is published."""

from __future__ import annotations

import numpy as np
from confluent_kafka import Producer

from agents.concierge import ConciergeAgent
from serving.concierge import load_examples, split_examples, train_head
from serving.concierge.head_export import export_head
from streams.catalogue import CatalogueTable
from tests.unit.test_concierge_support import EMBED


def _agent(served: bytes | None) -> ConciergeAgent:
    producer = Producer({"bootstrap.servers": "127.0.0.1:9"})  # never used: nothing is published here
    return ConciergeAgent("kairos.concierge.v1", producer, CatalogueTable(), served_head=lambda: served)


async def test_the_served_head_is_used_as_exported() -> None:
    train, held = split_examples(load_examples(), holdout=0.2, seed=0)
    head = train_head(train, EMBED)
    agent = _agent(export_head(head))
    assert await agent.load_intent_head() is None  # no encoder client: nothing to score it with
    used = agent.concierge.head
    assert used is not None
    vectors = EMBED([e.text for e in held])
    np.testing.assert_allclose(used.forward(vectors)[0], head.forward(vectors)[0], atol=1e-5)


async def test_without_a_served_head_the_agent_falls_back_to_training() -> None:
    agent = _agent(None)
    assert agent.served_intent_head() is None
    assert await agent.load_intent_head() is None  # training needs the encoder, which is absent here
    assert agent.concierge.head is None


def test_an_unreadable_served_head_counts_as_absent() -> None:
    assert _agent(b"not torchscript").served_intent_head() is None
