"""The versioned state vector and per-candidate action vector every policy reads, with a name for every dimension."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from schemas.features import PRODUCT_FEATURES, SESSION_FEATURES, USER_FEATURES
from serving.models.inputs import FeatureRow, signed_log1p
from serving.policy.actions import INTERVENTION_TYPES
from serving.policy.candidates import Candidate, Relation
from serving.policy.errors import PolicyConfigError, PolicyInputError

__all__ = [
    "ACTION_INPUTS",
    "LAST_INTENTS",
    "NOT_INPUTS",
    "STATE_VERSION",
    "TRIGGERS",
    "ModelScores",
    "StateConfig",
    "StateEncoder",
]

STATE_VERSION: Final = "s1"
"""Version of the default layout of both vectors; bump it whenever a name, an order or a transform changes."""

TRIGGERS: Final = (
    "exit_intent",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "chat_message",
    "page_view",
    "search",
    "other",
)
"""Trigger event types of the one-hot; any other event type sets ``trigger=other``."""

LAST_INTENTS: Final = ("order_status", "returns", "discount", "product_question", "other")
"""Chat intents of the one-hot (``streams.features.text.INTENTS``); an unknown non-empty intent counts as ``other``."""

Transform = Literal["log", "raw", "bool"]

_SESSION_INPUTS: Final[tuple[tuple[str, Transform], ...]] = (
    ("events_so_far", "log"),
    ("dwell_s", "log"),
    ("idle_s", "log"),
    ("page_switches_30s", "log"),
    ("cart_value", "log"),
    ("cart_size", "log"),
    ("categories_browsed", "log"),
    ("searches", "log"),
    ("last_sentiment", "raw"),
    ("exit_intent", "bool"),
    ("checkout_started", "bool"),
)
_USER_INPUTS: Final[tuple[tuple[str, Transform], ...]] = (
    ("frequency", "log"),
    ("recency_days", "log"),
    ("t_days", "log"),
    ("monetary", "log"),
    ("purchase_count", "log"),
    ("average_order_value", "log"),
    ("category_affinity", "raw"),
    ("discount_responsiveness", "raw"),
    ("interventions_seen_1d", "log"),
    ("interventions_dismissed_1d", "log"),
)
NOT_INPUTS: Final = frozenset({"consent_marketing", "consent_personalisation"})
"""Contract features deliberately left out of the state: consent gates actions (guardrails), it does not target them."""

ACTION_INPUTS: Final = ("price", "category", "views_1h", "purchases_1h", "conversion_rate_1h")
"""Product features the action vector reads."""

_RELATIONS: Final = (Relation.CO_PURCHASED_CURRENT, Relation.CO_PURCHASED_CART, Relation.POPULAR)
_CONTEXT: Final = (Relation.SAME_CATEGORY, Relation.USER_TOP_CATEGORY)
_PRICE_RATIO_BOUND: Final = 3.0
_RAW_BOUND: Final = 1e6  # raw inputs are rates and sentiments in [-1, 1]; the clip only keeps float32 finite


@dataclass(frozen=True, slots=True)
class ModelScores:
    """Model outputs that enter the state: ``None`` when a model has no answer (cold, no row)."""

    abandonment: float | None = None
    purchase_propensity: float | None = None
    segment: int | None = None


@dataclass(frozen=True, slots=True)
class StateConfig:
    """Layout options of the encoder.

    Args:
        n_segments: width of the segment one-hot (``SegmentModel.n_clusters``); another width is another layout.
        protected_attributes: names the policy must never read, on top of the contract's ``protected`` features.
            Today the contract has none; declare the fairness attribute here too (it comes from a lookup, not from
            the rows, but declaring it keeps it out if it is ever added to a row). Declared names present in the
            layout are dropped from it (and the version changes).
    """

    n_segments: int = 4
    protected_attributes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.n_segments < 1:
            raise PolicyConfigError(f"n_segments must be >= 1, got {self.n_segments}")


def _log(value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return signed_log1p(float(value))
    return 0.0


def _raw(value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return max(-_RAW_BOUND, min(_RAW_BOUND, float(value)))
    return 0.0


def _probability(value: float | None) -> float:
    """A model probability clipped to [0, 1]; 0.5 when unknown."""
    if value is None or not math.isfinite(value):
        return 0.5
    return max(0.0, min(1.0, float(value)))


def _number(row: FeatureRow | None, name: str) -> float | None:
    value = row.get(name) if row is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _fill(x: list[float], row: FeatureRow, slots: tuple[tuple[str, int, Transform], ...]) -> None:
    """Write ``row``'s transformed values into their slots of ``x`` (``_log``, ``_raw`` and ``_bool``, inlined)."""
    get, isfinite = row.get, math.isfinite
    for name, i, transform in slots:
        value = get(name)
        if value is True:
            x[i] = 1.0
        elif value is None or value is False or transform == "bool":
            x[i] = 0.0
        elif isinstance(value, int | float) and isfinite(value):
            number = float(value)
            if transform == "log":
                x[i] = math.copysign(math.log1p(abs(number)), number)  # signed_log1p
            else:
                x[i] = max(-_RAW_BOUND, min(_RAW_BOUND, number))
        else:
            x[i] = 0.0


class _ActionColumns(NamedTuple):
    """Positions of the action vector's non-one-hot dimensions."""

    discount_pct: int
    has_product: int
    has_category: int
    price: int
    price_vs_anchor: int
    views_1h: int
    purchases_1h: int
    conversion_rate_1h: int
    cf_acceptance: int
    has_cf_acceptance: int
    popularity: int


class StateEncoder:
    """Feature rows and model scores to fixed-width ``float32`` vectors, with the name of every dimension.

    State (``state_names``): trigger one-hot, session numbers (signed log1p of counts, money and durations; sentiment
    as is; booleans 0/1), the last chat intent one-hot, user numbers, ``has_top_category``, row-presence flags, the
    abandonment and purchase-propensity scores (0.5 when unknown), a segment one-hot with an ``unknown`` slot.
    Missing or non-finite values read as 0. Protected features (contract or config) and consent are never read.

    Action (``action_names``): intervention-type one-hot, ``discount_pct / 100``, slot flags, the product's price
    (log), price relative to the anchor product (log ratio, clipped to ±3), views / purchases (log) and conversion
    in the last hour, the CF acceptance with a flag saying it is known, the relation flags and
    ``popularity = 1 / (1 + rank)``.

    Args:
        config: layout options (default :class:`StateConfig()`).
        product_cache_size: most product rows whose encoded part is remembered (see :meth:`encode_candidates`).

    Raises:
        PolicyConfigError: a non-positive ``product_cache_size``.

    >>> enc = StateEncoder()
    >>> enc.version, len(enc.state_names), len(enc.action_names)
    ('s1', 45, 23)
    >>> x = enc.encode_state({"purchase_count": 3}, {"exit_intent": True}, ModelScores(segment=2), "exit_intent")
    >>> [enc.state_names[i] for i in np.flatnonzero(x == 1.0)]
    ['trigger=exit_intent', 'exit_intent', 'has_user_row', 'has_session_row', 'segment=2']
    """

    def __init__(self, config: StateConfig | None = None, *, product_cache_size: int = 4096) -> None:
        if product_cache_size < 1:
            raise PolicyConfigError(f"product_cache_size must be >= 1, got {product_cache_size}")
        self.config = config or StateConfig()
        protected = self.config.protected_attributes | {
            spec.name for spec in (*SESSION_FEATURES, *USER_FEATURES, *PRODUCT_FEATURES) if spec.protected
        }
        self.protected = frozenset(protected)
        session = tuple(item for item in _SESSION_INPUTS if item[0] not in protected)
        user = tuple(item for item in _USER_INPUTS if item[0] not in protected)
        self._session = session
        self._user = user
        self._read_intent = "last_intent" not in protected
        self._read_top = "top_category" not in protected
        self._product = tuple(name for name in ACTION_INPUTS if name not in protected)
        names = [f"trigger={t}" for t in TRIGGERS]
        names += [name for name, _ in session]
        names += [f"last_intent={i}" for i in LAST_INTENTS] if self._read_intent else []
        names += [name for name, _ in user]
        names += ["has_top_category"] if self._read_top else []
        names += ["has_user_row", "has_session_row", "abandonment_risk", "purchase_propensity"]
        names += [f"segment={s}" for s in range(self.config.n_segments)] + ["segment=unknown"]
        self.state_names: tuple[str, ...] = tuple(names)
        actions = [f"type={t.value}" for t in INTERVENTION_TYPES]
        actions += ["discount_pct", "has_product", "has_category", "price", "price_vs_anchor"]
        actions += ["views_1h", "purchases_1h", "conversion_rate_1h", "cf_acceptance", "has_cf_acceptance"]
        actions += [f"rel={r.value}" for r in (*_RELATIONS, *_CONTEXT)] + ["popularity"]
        self.action_names: tuple[str, ...] = tuple(actions)
        self._state_index = {name: i for i, name in enumerate(self.state_names)}
        self._action_index = {name: i for i, name in enumerate(self.action_names)}
        self.version = STATE_VERSION if self.config == StateConfig() else f"{STATE_VERSION}+{self.layout_digest()}"
        si, ai = self._state_index, self._action_index
        self._triggers = {t: si[f"trigger={t}"] for t in TRIGGERS}
        self._session_slots = tuple((name, si[name], transform) for name, transform in self._session)
        self._user_slots = tuple((name, si[name], transform) for name, transform in self._user)
        flags = ("has_session_row", "has_user_row", "abandonment_risk", "purchase_propensity")
        self._flags = tuple(si[n] for n in flags)
        self._top_slot = si["has_top_category"] if self._read_top else -1
        self._intents = {i: si[f"last_intent={i}"] for i in LAST_INTENTS} if self._read_intent else {}
        self._segments = (*(si[f"segment={s}"] for s in range(self.config.n_segments)), si["segment=unknown"])
        self._types = {t: ai[f"type={t.value}"] for t in INTERVENTION_TYPES}
        self._relations = {r: ai[f"rel={r.value}"] for r in (*_RELATIONS, *_CONTEXT)}
        self._columns = _ActionColumns(**{n: ai[n] for n in _ActionColumns._fields})
        self._zero_action = [0.0] * self.action_dim
        self._product_cache: dict[int, tuple[FeatureRow, float | None, list[float]]] = {}
        self._product_cache_size = product_cache_size

    @property
    def state_dim(self) -> int:
        """S, the width of the state vector."""
        return len(self.state_names)

    @property
    def action_dim(self) -> int:
        """A, the width of an action vector."""
        return len(self.action_names)

    def layout_digest(self) -> str:
        """Eight hex digits of SHA-256 over both name lists (a test pins the default's, so a change forces a bump)."""
        text = "\n".join((*self.state_names, "|", *self.action_names))
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def state_index(self, name: str) -> int:
        """Position of a state dimension by name (``KeyError`` when the layout has none)."""
        return self._state_index[name]

    def action_index(self, name: str) -> int:
        """Position of an action dimension by name (``KeyError`` when the layout has none)."""
        return self._action_index[name]

    def encode_state(
        self,
        user_row: FeatureRow | None,
        session_row: FeatureRow | None,
        scores: ModelScores,
        trigger: str,
    ) -> npt.NDArray[np.float32]:
        """The state vector of one decision; the rows are not modified.

        Args:
            user_row: the user's feature row (``None`` for a new or anonymous shopper without one).
            session_row: the session's feature row.
            scores: abandonment risk, purchase propensity and segment.
            trigger: the trigger event's type.

        Returns:
            A new ``float32`` vector of width :attr:`state_dim`.
        """
        x = [0.0] * self.state_dim
        has_session, has_user, abandonment, propensity = self._flags
        x[self._triggers.get(trigger, self._triggers["other"])] = 1.0
        if session_row is not None:
            _fill(x, session_row, self._session_slots)
            intent = session_row.get("last_intent")
            if self._intents and isinstance(intent, str) and intent:
                x[self._intents.get(intent, self._intents["other"])] = 1.0
            x[has_session] = 1.0
        if user_row is not None:
            _fill(x, user_row, self._user_slots)
            top = user_row.get("top_category")
            if self._read_top and isinstance(top, str) and top:
                x[self._top_slot] = 1.0
            x[has_user] = 1.0
        x[abandonment] = _probability(scores.abandonment)
        x[propensity] = _probability(scores.purchase_propensity)
        segment = scores.segment
        known = segment is not None and 0 <= segment < self.config.n_segments
        x[self._segments[segment if known and segment is not None else -1]] = 1.0
        return np.array(x, dtype=np.float32)

    def encode_candidates(
        self,
        candidates: Sequence[Candidate],
        product_rows: Mapping[str, FeatureRow],
        *,
        anchor_product_id: str | None = None,
        pad_to: int | None = None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """The action vectors of a decision's candidates, padded to a fixed K.

        A product's part of the vector (price, views, purchases, conversion) is computed once per row *object* and
        remembered (bounded by ``product_cache_size``, oldest first out): rows are treated as immutable, so pass a
        new mapping when a product's features change (the feature stage and the decision stage do).

        Args:
            candidates: the generated candidates, in order.
            product_rows: product feature rows by id.
            anchor_product_id: the product prices are compared to (``CandidateSources.anchor_product_id``).
            pad_to: K; rows beyond the candidates are zeros with mask ``False`` (default: no padding).

        Returns:
            ``(vectors[K, A], valid[K])``: ``valid`` is ``True`` exactly on real candidates.

        Raises:
            PolicyInputError: more candidates than ``pad_to``.
        """
        n = len(candidates)
        k = n if pad_to is None else pad_to
        if n > k:
            raise PolicyInputError(f"{n} candidates do not fit K={k}")
        out = np.zeros((k, self.action_dim), dtype=np.float32)
        valid = np.zeros(k, dtype=np.bool_)
        valid[:n] = True
        if not n:
            return out, valid
        anchor_row = product_rows.get(anchor_product_id) if anchor_product_id else None
        anchor_price = self._product_part(anchor_row)[0] if anchor_row is not None else None
        if anchor_price is not None and anchor_price <= 0:
            anchor_price = None  # no ratio against a non-positive price
        c, cache = self._columns, self._product_cache
        zero, types, relations = self._zero_action, self._types, self._relations
        bound, inf = _PRICE_RATIO_BOUND, math.inf
        vectors: list[list[float]] = []
        for candidate in candidates:  # hot: ~25 per decision, so clips and cache hits are inlined
            action = candidate.action
            if action.product_id is not None:
                row = product_rows.get(action.product_id)
                if row is None:
                    v = zero[:]
                else:
                    hit = cache.get(id(row))
                    price, template = (hit[1], hit[2]) if hit is not None and hit[0] is row else self._product_part(row)
                    v = template[:]
                    if price is not None and anchor_price is not None and price > 0:
                        ratio = math.log(price / anchor_price)
                        v[c.price_vs_anchor] = ratio if -bound < ratio < bound else (bound if ratio > 0 else -bound)
                v[c.has_product] = 1.0
            else:
                v = zero[:]
            v[types[action.type]] = 1.0
            if action.discount_pct:
                v[c.discount_pct] = action.discount_pct / 100.0
            if action.category is not None:
                v[c.has_category] = 1.0
            p = candidate.acceptance
            if p is not None and -inf < p < inf:
                v[c.cf_acceptance] = p if 0.0 < p < 1.0 else (1.0 if p >= 1.0 else 0.0)
                v[c.has_cf_acceptance] = 1.0
            for relation in candidate.relations:
                column = relations.get(relation)
                if column is not None:
                    v[column] = 1.0
            if candidate.popularity_rank is not None:
                v[c.popularity] = 1.0 / (1.0 + candidate.popularity_rank)
            vectors.append(v)
        out[:n] = vectors
        return out, valid

    def _product_part(self, row: FeatureRow) -> tuple[float | None, list[float]]:
        """``(price, template)`` of a product row: its price (``None`` when unknown or not read) and an action vector
        holding only the product's own dimensions, remembered per row object (see :meth:`encode_candidates`)."""
        key = id(row)
        hit = self._product_cache.get(key)
        if hit is not None and hit[0] is row:
            return hit[1], hit[2]
        price, template = self._encode_product(row)
        cache = self._product_cache
        if hit is None and len(cache) >= self._product_cache_size:
            del cache[next(iter(cache))]  # the oldest entry
        cache[key] = (row, price, template)  # the row is kept, so its id cannot be reused while cached
        return price, template

    def _encode_product(self, row: FeatureRow) -> tuple[float | None, list[float]]:
        c, read = self._columns, self._product
        v = self._zero_action.copy()
        price = _number(row, "price") if "price" in read else None
        if price is not None:
            v[c.price] = signed_log1p(price)
        for name, column in (("views_1h", c.views_1h), ("purchases_1h", c.purchases_1h)):
            if name in read:
                v[column] = _log(_number(row, name))
        if "conversion_rate_1h" in read:
            v[c.conversion_rate_1h] = _raw(_number(row, "conversion_rate_1h"))
        return price, v

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the product cache (it is keyed by object identity)."""
        state = dict(self.__dict__)
        state["_product_cache"] = {}
        return state
