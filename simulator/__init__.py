"""The shopper simulator: seeded shoppers producing clickstream events and reacting to decisions.

A client of the engine: it imports only ``schemas``. Pure model (catalogue, shoppers, sessions, reactions,
oracle, engine) plus one I/O shell (:func:`run_simulation`). See docs/simulator.md.
"""

from simulator.activity import ACTION_TYPES, ActionType, Activity, CartLine, Intervention
from simulator.behaviour import ANNOYANCE_COST_EUR, LEAD_VALUE_EUR, ReactionOdds
from simulator.catalogue import Catalogue, Product
from simulator.config import DEFAULT_START_TIME, SimulationConfig
from simulator.counterfactual import RolloutResult, rollout
from simulator.drift import DriftConfig, DriftRecord
from simulator.engine import Simulation
from simulator.errors import BadDecisionError, SimulatorConfigError, SimulatorError, TopicMissingError
from simulator.kafka_io import DecisionSource, KafkaDecisionSource, KafkaRecordSink, RecordSink
from simulator.oracle import (
    OracleBreakdown,
    best_action,
    canonical_action,
    expected_net_value,
    oracle_breakdown,
    oracle_value,
    oracle_values,
    regret,
)
from simulator.reaction import Reaction
from simulator.records import DEAD_LETTER_REASONS, RecordKind, SimRecord
from simulator.runner import SimulationReport, default_start_time, run_simulation, write_truth
from simulator.session import Session
from simulator.shopper import ShopperState, ShopperTraits, make_population, run_tag
from simulator.state import NextVisit, SessionState
from simulator.summary import SimulationSummary
from simulator.truth import RealisedOutcome, TruthEntry
from simulator.wire import build_decision, decode_decision, decode_event, encode_decision

__all__ = [
    "ACTION_TYPES",
    "ANNOYANCE_COST_EUR",
    "DEAD_LETTER_REASONS",
    "DEFAULT_START_TIME",
    "LEAD_VALUE_EUR",
    "ActionType",
    "Activity",
    "BadDecisionError",
    "CartLine",
    "Catalogue",
    "DecisionSource",
    "DriftConfig",
    "DriftRecord",
    "Intervention",
    "KafkaDecisionSource",
    "KafkaRecordSink",
    "NextVisit",
    "OracleBreakdown",
    "Product",
    "Reaction",
    "ReactionOdds",
    "RealisedOutcome",
    "RecordKind",
    "RecordSink",
    "RolloutResult",
    "Session",
    "SessionState",
    "ShopperState",
    "ShopperTraits",
    "SimRecord",
    "Simulation",
    "SimulationConfig",
    "SimulationReport",
    "SimulationSummary",
    "SimulatorConfigError",
    "SimulatorError",
    "TopicMissingError",
    "TruthEntry",
    "best_action",
    "build_decision",
    "canonical_action",
    "decode_decision",
    "decode_event",
    "default_start_time",
    "encode_decision",
    "expected_net_value",
    "make_population",
    "oracle_breakdown",
    "oracle_value",
    "oracle_values",
    "regret",
    "rollout",
    "run_simulation",
    "run_tag",
    "write_truth",
]
