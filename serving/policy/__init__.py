"""Decision policies as pure objects: action space, candidates, state encoding, policies, exploration, export.

Synchronous and deterministic: time is never read, randomness comes from a seed (a decision's draw from
:func:`seed_for` of its id), learners are seeded and picklable. See docs/policy.md.
"""

from serving.policy.actions import (
    DEFAULT_DISCOUNT_LEVELS,
    DEFAULT_MAX_CANDIDATES,
    INTERVENTION_TYPES,
    NO_ACTION,
    ActionSpace,
    Slot,
    action_key,
    fixed_actions,
    slot_of,
    slots_of,
)
from serving.policy.base import (
    DEFAULT_STRATUM,
    MASKED_SCORE,
    Choice,
    Feedback,
    GreedyPolicy,
    Policy,
    check_batch,
    decide,
)
from serving.policy.candidates import (
    AcceptanceFn,
    AcceptanceManyFn,
    Candidate,
    CandidateSources,
    Relation,
    generate_candidates,
)
from serving.policy.dqn import DEFAULT_TARGET_SYNC, DQNPolicy, Exploration
from serving.policy.errors import (
    NoAllowedActionError,
    PolicyConfigError,
    PolicyDivergedError,
    PolicyError,
    PolicyExportError,
    PolicyInputError,
    UnknownStratumError,
)
from serving.policy.explain import explain, explain_many, gradient_x_input, gradient_x_input_many
from serving.policy.exploration import (
    best_index,
    check_decision,
    draw,
    epsilon_greedy_propensities,
    greedy_propensities,
    grouped_epsilon_propensities,
    igw_propensities,
    seed_for,
    softmax_propensities,
)
from serving.policy.export import export_torchscript, load_torchscript
from serving.policy.networks import PairScorer, build_scorer, score_numpy, seeded
from serving.policy.neural_bandit import NeuralBandit
from serving.policy.ppo import PPOPolicy
from serving.policy.replay import DEFAULT_REPLAY_CAPACITY, StratifiedReplayBuffer, Transition
from serving.policy.rules import RULES_VERSION, RulePolicy
from serving.policy.safe import ArmStats, SafePolicy
from serving.policy.state import (
    ACTION_INPUTS,
    LAST_INTENTS,
    NOT_INPUTS,
    STATE_VERSION,
    TRIGGERS,
    ModelScores,
    StateConfig,
    StateEncoder,
)

__all__ = [
    "ACTION_INPUTS",
    "DEFAULT_DISCOUNT_LEVELS",
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_REPLAY_CAPACITY",
    "DEFAULT_STRATUM",
    "DEFAULT_TARGET_SYNC",
    "INTERVENTION_TYPES",
    "LAST_INTENTS",
    "MASKED_SCORE",
    "NOT_INPUTS",
    "NO_ACTION",
    "RULES_VERSION",
    "STATE_VERSION",
    "TRIGGERS",
    "AcceptanceFn",
    "AcceptanceManyFn",
    "ActionSpace",
    "ArmStats",
    "Candidate",
    "CandidateSources",
    "Choice",
    "DQNPolicy",
    "Exploration",
    "Feedback",
    "GreedyPolicy",
    "ModelScores",
    "NeuralBandit",
    "NoAllowedActionError",
    "PPOPolicy",
    "PairScorer",
    "Policy",
    "PolicyConfigError",
    "PolicyDivergedError",
    "PolicyError",
    "PolicyExportError",
    "PolicyInputError",
    "Relation",
    "RulePolicy",
    "SafePolicy",
    "Slot",
    "StateConfig",
    "StateEncoder",
    "StratifiedReplayBuffer",
    "Transition",
    "UnknownStratumError",
    "action_key",
    "best_index",
    "build_scorer",
    "check_batch",
    "check_decision",
    "decide",
    "draw",
    "epsilon_greedy_propensities",
    "explain",
    "explain_many",
    "export_torchscript",
    "fixed_actions",
    "generate_candidates",
    "gradient_x_input",
    "gradient_x_input_many",
    "greedy_propensities",
    "grouped_epsilon_propensities",
    "igw_propensities",
    "load_torchscript",
    "score_numpy",
    "seed_for",
    "seeded",
    "slot_of",
    "slots_of",
    "softmax_propensities",
]
