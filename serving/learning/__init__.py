"""Online learning: decision contexts joined with final rewards, a candidate policy learned online, promotion by
the off-policy gate, and policy versions as bytes and checkpoints.

Pure and synchronous except :mod:`serving.learning.checkpoint` (files). The learner agent (``agents/learn.py``)
does the I/O. See docs/learning.md.
"""

from serving.learning.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    policy_weights,
    restore_weights,
    save_checkpoint,
)
from serving.learning.context import decision_context
from serving.learning.contexts import ContextStore, MemoryContexts, SqliteContexts
from serving.learning.errors import CheckpointError, LearningConfigError, LearningError
from serving.learning.evaluation import GateEstimator, compare, logged_bandit, target_distribution
from serving.learning.join import FeedbackJoin, JoinStats, Round, feedback_of
from serving.learning.learner import LearnerConfig, OnlineLearner, Proposal, is_holdout

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ContextStore",
    "FeedbackJoin",
    "GateEstimator",
    "JoinStats",
    "LearnerConfig",
    "LearningConfigError",
    "LearningError",
    "MemoryContexts",
    "OnlineLearner",
    "Proposal",
    "Round",
    "SqliteContexts",
    "compare",
    "decision_context",
    "feedback_of",
    "is_holdout",
    "latest_checkpoint",
    "logged_bandit",
    "policy_weights",
    "restore_weights",
    "save_checkpoint",
    "target_distribution",
]
