"""The AI concierge: rules-first routing, catalogue-grounded retrieval, a strict reply contract, a bounded LM queue.

Pure and synchronous in the middle; the text encoder and the language model are injected async callables. The
policy decides *what* to offer (the decision's action); the concierge decides *how* to say it, and every reply
states exactly that offer, names only retrieved catalogue items and carries an AI disclosure. See
docs/concierge.md.
"""

from serving.concierge.catalogue import CatalogueChange, CatalogueIndex, is_valid_product_id
from serving.concierge.config import DEFAULT_PRODUCT_ID_PATTERN, ConciergeConfig, FixedAnswers
from serving.concierge.constraints import Constraints, extract_constraints, parse_amount
from serving.concierge.dialogue import DialogueState, TurnSummary, advance, merge_constraints
from serving.concierge.embedding import (
    EMBEDDING_DIM,
    AsyncEmbedder,
    Embedder,
    Embeddings,
    Generator,
    HashingEmbedder,
    check_embeddings,
)
from serving.concierge.errors import (
    ConciergeConfigError,
    ConciergeError,
    EmbeddingShapeError,
    GenerationError,
    IntentDataError,
    UnknownProductError,
)
from serving.concierge.grounding import Mentions, contract_violations, find_mentions, id_regex
from serving.concierge.intent import (
    FEATURE_INTENT,
    INTENT_CLASSES,
    SENTIMENT_CLASSES,
    HeadReport,
    IntentHead,
    IntentPrediction,
    LabelledMessage,
    evaluate_head,
    load_examples,
    split_examples,
    train_head,
)
from serving.concierge.offer import Offer, discounted_price, format_money, format_pct, offer_from_action
from serving.concierge.prompt import Prompt, PromptMessage, build_prompt, describe_offer
from serving.concierge.reply import (
    ConciergeReply,
    Grounding,
    LmCheck,
    ReplySource,
    build_reply,
    check_lm_text,
    clean_lm_text,
)
from serving.concierge.retrieval import Hit, RetrievalIndex, SyncPlan, item_text, matches
from serving.concierge.router import ROUTING_TABLE, Route, RouteDecision, RouteSpec, route_message
from serving.concierge.service import ChatTurn, Concierge, TurnResult
from serving.concierge.templates import item_phrase, offer_sentence, template_body
from serving.concierge.work_queue import ConciergeJob, ConciergeQueue

__all__ = [
    "DEFAULT_PRODUCT_ID_PATTERN",
    "EMBEDDING_DIM",
    "FEATURE_INTENT",
    "INTENT_CLASSES",
    "ROUTING_TABLE",
    "SENTIMENT_CLASSES",
    "AsyncEmbedder",
    "CatalogueChange",
    "CatalogueIndex",
    "ChatTurn",
    "Concierge",
    "ConciergeConfig",
    "ConciergeConfigError",
    "ConciergeError",
    "ConciergeJob",
    "ConciergeQueue",
    "ConciergeReply",
    "Constraints",
    "DialogueState",
    "Embedder",
    "EmbeddingShapeError",
    "Embeddings",
    "FixedAnswers",
    "GenerationError",
    "Generator",
    "Grounding",
    "HashingEmbedder",
    "HeadReport",
    "Hit",
    "IntentDataError",
    "IntentHead",
    "IntentPrediction",
    "LabelledMessage",
    "LmCheck",
    "Mentions",
    "Offer",
    "Prompt",
    "PromptMessage",
    "ReplySource",
    "RetrievalIndex",
    "Route",
    "RouteDecision",
    "RouteSpec",
    "SyncPlan",
    "TurnResult",
    "TurnSummary",
    "UnknownProductError",
    "advance",
    "build_prompt",
    "build_reply",
    "check_embeddings",
    "check_lm_text",
    "clean_lm_text",
    "contract_violations",
    "describe_offer",
    "discounted_price",
    "evaluate_head",
    "extract_constraints",
    "find_mentions",
    "format_money",
    "format_pct",
    "id_regex",
    "is_valid_product_id",
    "item_phrase",
    "item_text",
    "load_examples",
    "matches",
    "merge_constraints",
    "offer_from_action",
    "offer_sentence",
    "parse_amount",
    "route_message",
    "split_examples",
    "template_body",
    "train_head",
]
