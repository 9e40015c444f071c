"""Shoppers: latent traits drawn once per person, and the small state they carry between sessions."""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

import numpy as np

from simulator.activity import CartLine

__all__ = [
    "DEVICES",
    "GROUPS",
    "AddRates",
    "Device",
    "Group",
    "SavedOffer",
    "ShopperState",
    "ShopperTraits",
    "derive_seed",
    "make_population",
    "run_tag",
]

Group: TypeAlias = Literal["a", "b"]
Device: TypeAlias = Literal["mobile", "desktop", "tablet"]
GROUPS: Final[tuple[Group, ...]] = ("a", "b")
DEVICES: Final[tuple[Device, ...]] = ("mobile", "desktop", "tablet")
_DEVICE_CUM: Final = (0.55, 0.90, 1.0)
_LOGGED_IN_RATE: Final = 0.4
_GROUP_B_PRICE_SENSITIVITY_SHIFT: Final = 0.1
_GROUP_B_BUDGET_FACTOR: Final = 0.85


def run_tag(seed: int) -> str:
    """A short, stable tag for a seed, used in every id the simulation makes.

    >>> run_tag(42) == run_tag(42), run_tag(42) == run_tag(43), len(run_tag(42))
    (True, False, 8)
    """
    return hashlib.sha256(f"kairos-simulator:{seed}".encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class ShopperTraits:
    """Latent, fixed traits of one shopper. None of these travel in events except the ids and device.

    Attributes:
        index: position in the population.
        user_id: the account id when the shopper logs in, else ``None``.
        anonymous_id: the device cookie (always set: logged-in shoppers carry both).
        group: declared protected attribute for fairness monitoring; never put in events.
        device: the device every session of this shopper uses.
        category_prefs: Dirichlet preference over the catalogue's categories (sums to 1).
        price_sensitivity: 0..1, how fast purchase willingness falls as price exceeds budget.
        budget: typical basket budget in EUR.
        patience: mean dwell seconds per page; impatient shoppers also drop out sooner.
        idle_mean_s: mean length of an idle pause; pauses past the session timeout end the session.
        annoyance_sensitivity: 0..1, how much one intervention raises annoyance.
        annoyance_half_life_s: how fast annoyance decays.
        discount_responsiveness: 0..1, how much a discount raises acceptance and completion.
        email_propensity: 0..1, willingness to sign up for email.
        buy_propensity: 0..1, mean purchase intent of a session.
        return_rate: probability of another visit after a session (lowered by annoyance).
        return_gap_s: mean seconds between visits.
        chattiness: probability of asking the chat a question on a page.
    """

    index: int
    user_id: str | None
    anonymous_id: str
    group: Group
    device: Device
    category_prefs: tuple[float, ...]
    price_sensitivity: float
    budget: float
    patience: float
    idle_mean_s: float
    annoyance_sensitivity: float
    annoyance_half_life_s: float
    discount_responsiveness: float
    email_propensity: float
    buy_propensity: float
    return_rate: float
    return_gap_s: float
    chattiness: float
    rel_prefs: tuple[float, ...] = field(init=False, repr=False)
    cum_prefs: tuple[float, ...] = field(init=False, repr=False)
    pref_bar: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Derive the preference summaries every session uses."""
        top = max(self.category_prefs)
        rel = tuple(p / top for p in self.category_prefs)
        object.__setattr__(self, "rel_prefs", rel)
        object.__setattr__(self, "cum_prefs", tuple(itertools.accumulate(self.category_prefs)))
        object.__setattr__(self, "pref_bar", sum(p * r for p, r in zip(self.category_prefs, rel, strict=True)))

    @property
    def logged_in(self) -> bool:
        """Whether sessions carry a ``user_id``."""
        return self.user_id is not None

    @property
    def key(self) -> str:
        """The Kafka message key: ``user_id`` or else ``anonymous_id``."""
        return self.user_id or self.anonymous_id

    def preference(self, category_index: int) -> float:
        """Preference for one category relative to the favourite one, in (0, 1]."""
        return self.rel_prefs[category_index]


@dataclass(frozen=True, slots=True)
class AddRates:
    """Per browse step and unit of intent: expected adds and added EUR, per category and preference-mixed."""

    counts: tuple[float, ...]
    values: tuple[float, ...]
    count: float
    value: float


@dataclass(frozen=True, slots=True)
class SavedOffer:
    """An accepted offer that outlives its session (a coupon in the account or cookie)."""

    decision_id: str
    discount_pct: float
    expires_at: float


@dataclass(slots=True)
class ShopperState:
    """What a shopper carries between sessions: annoyance (decaying), email status, cart and offer."""

    traits: ShopperTraits
    annoyance: float = 0.0
    annoyance_at: float = 0.0
    email_signed_up: bool = False
    sessions: int = 0
    purchases: int = 0
    saved_cart: tuple[CartLine, ...] = ()
    offer: SavedOffer | None = None
    pending_decisions: list[str] = field(default_factory=list)
    add_rates: AddRates | None = None

    def clone(self) -> ShopperState:
        """An independent copy for what-if evaluation (the pending-decision list is copied)."""
        return ShopperState(
            self.traits,
            self.annoyance,
            self.annoyance_at,
            self.email_signed_up,
            self.sessions,
            self.purchases,
            self.saved_cart,
            self.offer,
            list(self.pending_decisions),
            self.add_rates,
        )

    def annoyance_now(self, t: float) -> float:
        """Annoyance at sim time ``t`` after exponential decay, in [0, 1]."""
        if self.annoyance == 0.0:
            return 0.0
        dt = max(0.0, t - self.annoyance_at)
        return self.annoyance * math.exp(-math.log(2) * dt / self.traits.annoyance_half_life_s)

    def annoy(self, t: float, weight: float) -> float:
        """Raise annoyance at ``t`` by ``weight`` of the remaining headroom; returns the increase."""
        before = self.annoyance_now(t)
        after = before + (1.0 - before) * min(1.0, max(0.0, weight))
        self.annoyance, self.annoyance_at = after, t
        return after - before


def derive_seed(seed: int, *names: object) -> int:
    """A 64-bit seed for one named stream of a run, stable across processes and platforms.

    >>> derive_seed(1, "population") == derive_seed(1, "population") != derive_seed(2, "population")
    True
    """
    text = ":".join(str(x) for x in (seed, *names))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def make_population(rng: np.random.Generator, n: int, n_categories: int, tag: str) -> tuple[ShopperTraits, ...]:
    """Draw ``n`` shoppers' traits (vectorised; the result depends only on the generator's state).

    Group ``b`` is made slightly more price sensitive with a lower budget, so that a policy keyed on behaviour
    offers discounts at different rates per group: a disparity the fairness monitors should see.

    Args:
        rng: the population stream.
        n: number of shoppers.
        n_categories: length of each preference vector.
        tag: the run tag (:func:`run_tag`) put in every id.
    """
    is_b = rng.random(n) >= 0.5
    device_u = rng.random(n)
    logged_in = rng.random(n) < _LOGGED_IN_RATE
    gammas = rng.gamma(0.4, 1.0, size=(n, n_categories)) + 1e-9
    prefs = gammas / gammas.sum(axis=1, keepdims=True)
    sensitivity = np.minimum(1.0, rng.beta(2, 2, n) + np.where(is_b, _GROUP_B_PRICE_SENSITIVITY_SHIFT, 0.0))
    columns = {
        "price_sensitivity": sensitivity,
        "budget": rng.lognormal(math.log(70.0), 0.6, n) * np.where(is_b, _GROUP_B_BUDGET_FACTOR, 1.0),
        "patience": rng.lognormal(math.log(25.0), 0.45, n),
        "idle_mean_s": rng.lognormal(math.log(240.0), 0.6, n),
        "annoyance_sensitivity": rng.beta(2, 4, n),
        "annoyance_half_life_s": rng.lognormal(math.log(900.0), 0.5, n),
        "discount_responsiveness": 0.6 * rng.beta(2, 3, n) + 0.4 * sensitivity,
        "email_propensity": rng.beta(1.2, 5, n),
        "buy_propensity": rng.beta(2, 6, n),
        "return_rate": rng.beta(2, 3, n),
        "return_gap_s": rng.lognormal(math.log(3 * 86400.0), 0.7, n),
        "chattiness": rng.beta(1, 8, n),
    }
    rows = {name: values.tolist() for name, values in columns.items()}
    pref_rows = prefs.tolist()
    devices = np.searchsorted(np.array(_DEVICE_CUM), device_u, side="right").tolist()
    flags_b, flags_login = is_b.tolist(), logged_in.tolist()
    return tuple(
        ShopperTraits(
            index=i,
            user_id=f"u-{tag}-{i:06d}" if flags_login[i] else None,
            anonymous_id=f"a-{tag}-{i:06d}",
            group="b" if flags_b[i] else "a",
            device=DEVICES[devices[i]],
            category_prefs=tuple(pref_rows[i]),
            **{name: values[i] for name, values in rows.items()},
        )
        for i in range(n)
    )
