"""The concierge agent built from the settings: the guardrails' discount cap and one reply deadline everywhere."""

from __future__ import annotations

from kairos.serving import concierge_agent
from kairos.settings import load_settings
from streams.catalogue import CatalogueTable


def test_the_concierge_takes_the_guardrails_cap_and_one_deadline() -> None:
    settings = load_settings(
        {"KAIROS_DECIDE_MAX_DISCOUNT_PCT": "12", "KAIROS_CONCIERGE_REPLY_TIMEOUT_S": "9"},
        kafka={"bootstrap": "127.0.0.1:9"},  # never used: nothing is published here
        serving={"triton_url": "127.0.0.1:9"},
    )
    agent = concierge_agent(settings, CatalogueTable())
    config = agent.concierge.config
    assert config.max_discount_pct == 12.0  # never a discount the guardrails would not allow
    assert config.generate_timeout_s == 9.0
    assert agent._options.generate_timeout_s == 9.0  # the queue's deadline
    assert agent._client is not None and agent._client.generate_timeout_s == 9.0
    assert agent._options.queue_size == settings.concierge.queue_size
