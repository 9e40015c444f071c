"""One default per setting: the deployment's settings and the package configs they are copied into agree, so a
default changed in one place cannot silently differ from the other (issue 14, item 3)."""

from __future__ import annotations

import dataclasses

from agents.decide import DecideOptions
from kairos.serving import decision_stage, guardrail_config
from kairos.settings import Settings
from serving.guardrails import FairnessConfig, GuardrailConfig


def test_the_decide_settings_defaults_are_the_guardrails_defaults() -> None:
    defaults = GuardrailConfig()
    built = guardrail_config(Settings())
    assert dataclasses.replace(built, fairness=FairnessConfig()) == defaults
    assert built.fairness.max_gap == FairnessConfig().max_gap


def test_the_decide_settings_defaults_are_the_decision_stages_defaults() -> None:
    from featurestore.hot import FeatureCache
    from streams.catalogue import CatalogueTable

    stage = decision_stage(Settings(), FeatureCache(), CatalogueTable())
    assert stage._options == DecideOptions()
