"""The one frozen settings object, built once in the entry point from ``KAIROS_*`` variables and a TOML file.

Names map as ``KAIROS_<SECTION>_<FIELD>``: ``KAIROS_KAFKA_BOOTSTRAP`` sets ``settings.kafka.bootstrap``. A config
file (``KAIROS_CONFIG=path.toml`` or ``--config``) holds the same sections as tables; the environment wins. Unknown
sections or fields are errors, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from schemas.errors import KairosError
from streams.attribution import AttributionConfig, CreditRule
from streams.config import BrokerConfig, IngestConfig, KafkaConfig, TopicsConfig
from streams.pseudonym import MIN_KEY_BYTES

__all__ = [
    "ENV_PREFIX",
    "AttributionSettings",
    "ConciergeSettings",
    "DecideConfig",
    "LearnConfig",
    "OnlineConfig",
    "PrivacyConfig",
    "ReplayConfig",
    "ServingConfig",
    "Settings",
    "SettingsError",
    "WorkerConfig",
    "load_settings",
    "settings_to_env",
]

ENV_PREFIX = "KAIROS_"
_CONFIG_VAR = "KAIROS_CONFIG"


class SettingsError(KairosError):
    """A configuration value or name is invalid."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """The worker process: where it keeps state and serves ``/metrics``."""

    web_host: str = "127.0.0.1"
    web_port: int = 6066
    data_dir: str = "var"
    log_level: str = "info"
    torch_threads: int = 1


@dataclass(frozen=True, slots=True)
class OnlineConfig:
    """The Feast online store: ``sqlite`` (embedded, under the worker's data dir) or a ``redis://`` URL."""

    store: str = "sqlite"


@dataclass(frozen=True, slots=True)
class ServingConfig:
    """Triton: where the worker finds it, and the embedded server ``kairos triton`` starts.

    ``triton_url`` empty means no Triton: decisions use the local fallback policy (``policy_source=fallback``).
    """

    triton_url: str = ""
    server_env: str = ".venv-triton"
    repository: str = "var/triton/models"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    policy_seed: int = 0
    load_lm: bool = True
    #: deadline of the feature stage's one ``kairos_intent`` request per batch with chat texts (lexicon past it).
    intent_timeout_ms: float = 50.0


@dataclass(frozen=True, slots=True)
class DecideConfig:
    """The decision stage and its guardrails (the rest of the guardrail settings keep their defaults)."""

    enabled: bool = True
    timeout_ms: float = 20.0
    max_candidates: int = 25
    pad_to: int = 32
    attribution_window_s: int = 10800
    idle_trigger_s: float = 60.0
    max_per_session: int = 3
    max_per_user_day: int = 8
    dismissal_cooldown_s: float = 900.0
    max_discount_pct: float = 15.0
    global_discount_budget: float = 2000.0
    fairness_attribute: str = ""
    fairness_max_gap: float = 0.05
    #: who decides until the first learned release: ``rules`` (the rules with ε-exploration over arms and a control
    #: group, exact propensities logged: what the learner trains the first version from) or ``served`` (the served
    #: policy's initial version, untrained)
    first_policy: Literal["rules", "served"] = "rules"
    #: the rules' exploration share, spread evenly over the arms allowed (the rules' own arm included)
    rules_epsilon: float = 0.1
    #: the rules' control group: this share of the decisions shows nothing (``none``)
    rules_holdout: float = 0.2


@dataclass(frozen=True, slots=True)
class LearnConfig:
    """The learner (one per deployment: enable it on one worker) and the promotion gate (docs/learning.md)."""

    enabled: bool = False
    contexts: bool = True
    policy: Literal["neural_bandit", "dqn", "ppo"] = "neural_bandit"
    # the gate's knobs: the learner core's defaults (serving.learning.LearnerConfig, which would import torch here;
    # tests/unit/test_learn_versions.py keeps the two equal)
    propose_every: int = 1000
    propose_interval_s: float = 600.0
    min_samples: int = 200
    eval_window: int = 5000
    holdout: float = 0.2
    margin: float = 0.01
    confidence: float = 0.95
    estimator: Literal["snipw", "ipw"] = "snipw"
    #: the gate also requires the candidate to beat the rules (SNIPW, same held-out rounds, lower bound above 0)
    vs_rules: bool = True
    #: the reward learned from: ``early`` (the composite once the components within the attribution's early
    #: horizon, 3 h, are final) or ``composite`` (after the longest window, 7 days with the defaults)
    reward: Literal["early", "composite"] = "early"
    #: where contexts wait for their rewards: a SQLite file ``<worker.data_dir>/learn/contexts.sqlite`` or memory
    contexts_store: Literal["sqlite", "memory"] = "sqlite"
    #: most contexts waiting (and rewards waiting for their context)
    join_capacity: int = 20_000_000
    #: event-time seconds a context waits; at least the reward's delay plus the attribution's lateness
    join_ttl_s: float = 14_400.0
    replay_capacity: int = 50_000
    target_sync: int = 1000
    release_poll_s: float = 1.0


@dataclass(frozen=True, slots=True)
class ConciergeSettings:
    """The concierge agent (docs/concierge.md). The largest discount it may state is ``decide.max_discount_pct``
    (the guardrails' cap: one source)."""

    #: one deadline for a model reply, from the shopper's message (queue wait included) to the generated text; past
    #: it the template reply already sent stands (the queue, the concierge and the text client all use it)
    reply_timeout_s: float = 20.0
    #: model turns waiting for the language model; beyond it a turn keeps its template reply
    queue_size: int = 16


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """``kairos replay``: where replays keep their state, and their own metrics port (docs/operations.md)."""

    #: each replay's worker state (checkpoints, Feast repository and SQLite online store) is ``<data_dir>/<namespace>``
    data_dir: str = "var/replay"
    #: serve the replay's ``/metrics`` on 127.0.0.1 at this port while it runs; 0: none
    metrics_port: int = 0


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """Pseudonymisation of shopper ids at ingest (docs/privacy.md). The key is a secret: from the environment
    (``KAIROS_PRIVACY_KEY``) or a file (``key_file``), never logged and left out of ``repr``."""

    pseudonymise: bool = False
    key: str = field(default="", repr=False)
    key_file: str = ""

    def __post_init__(self) -> None:
        """Refuse two sources of the key.

        Raises:
            SettingsError: both ``key`` and ``key_file`` are set.
        """
        if self.key and self.key_file:
            raise SettingsError("set privacy.key or privacy.key_file, not both")

    def load_key(self) -> bytes | None:
        """The pseudonymisation key when ``pseudonymise`` is on, else ``None`` (a key file's trailing newline is
        not part of the key).

        Raises:
            SettingsError: pseudonymisation is on without a key, the file cannot be read, or the key is shorter
                than 32 bytes.

        >>> PrivacyConfig().load_key() is None
        True
        >>> len(PrivacyConfig(pseudonymise=True, key="k" * 32).load_key())
        32
        >>> "k" * 32 in repr(PrivacyConfig(pseudonymise=True, key="k" * 32))
        False
        """
        if not self.pseudonymise:
            return None
        if self.key:
            secret = self.key.encode()
        elif self.key_file:
            try:
                secret = Path(self.key_file).read_bytes().rstrip(b"\r\n")
            except OSError as exc:
                raise SettingsError(f"privacy.key_file {self.key_file} cannot be read: {exc.strerror}") from None
        else:
            raise SettingsError("privacy.pseudonymise is on but no key is set (KAIROS_PRIVACY_KEY or privacy.key_file)")
        if len(secret) < MIN_KEY_BYTES:
            raise SettingsError(f"the privacy key must be at least {MIN_KEY_BYTES} bytes (got {len(secret)})")
        return secret


_RULES = AttributionConfig()


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """The attribution stage and the rules it starts new partition states with (``docs/attribution.md``).

    A window of ``0`` means the decision's own ``attribution_window_s`` (capped at the longest configured window).
    The rest of :class:`~streams.attribution.AttributionConfig` keeps its defaults.
    """

    enabled: bool = True
    group_id: str = ""
    checkpoint_every_s: float = 30.0
    credit: str = _RULES.credit.value
    half_life_s: float = _RULES.half_life_s
    allowed_lateness_s: float = _RULES.allowed_lateness_s
    activation_timeout_s: float = _RULES.activation_timeout_s
    report_organic: bool = _RULES.report_organic
    transaction_value_window_s: float = _RULES.transaction_value.window_s or 0.0
    conversion_window_s: float = _RULES.conversion.window_s or 0.0
    satisfaction_window_s: float = _RULES.satisfaction.window_s or 0.0
    retention_window_s: float = _RULES.retention.window_s or 0.0
    penalty_window_s: float = _RULES.penalty.window_s or 0.0
    transaction_value_weight: float = _RULES.transaction_value.weight
    conversion_weight: float = _RULES.conversion.weight
    satisfaction_weight: float = _RULES.satisfaction.weight
    retention_weight: float = _RULES.retention.weight
    penalty_weight: float = _RULES.penalty.weight
    early_horizon_s: float = _RULES.early_horizon_s

    def __post_init__(self) -> None:
        """Reject rules the attributor would reject (at start, as a settings error).

        Raises:
            ValueError: an unknown credit rule or an invalid window or weight.
        """
        self.rules()

    def rules(self) -> AttributionConfig:
        """The :class:`~streams.attribution.AttributionConfig` these settings describe.

        >>> AttributionSettings().rules() == AttributionConfig()
        True
        >>> AttributionSettings(penalty_window_s=60.0, credit="time_decay").rules().penalty.window_s
        60.0
        """
        components = {}
        for name in ("transaction_value", "conversion", "satisfaction", "retention", "penalty"):
            window = getattr(self, f"{name}_window_s")
            rule = dataclasses.replace(
                getattr(_RULES, name), window_s=window if window > 0 else None, weight=getattr(self, f"{name}_weight")
            )
            components[name] = rule
        return dataclasses.replace(
            _RULES,
            credit=CreditRule(self.credit),
            half_life_s=self.half_life_s,
            allowed_lateness_s=self.allowed_lateness_s,
            activation_timeout_s=self.activation_timeout_s,
            report_organic=self.report_organic,
            early_horizon_s=self.early_horizon_s,
            **components,
        )

    def group(self, topics: TopicsConfig) -> str:
        """The stage's consumer group: ``group_id``, else ``<namespace>-attribution``."""
        return self.group_id or f"{topics.namespace}-attribution"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable in Kairos, one immutable tree."""

    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    online: OnlineConfig = field(default_factory=OnlineConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    decide: DecideConfig = field(default_factory=DecideConfig)
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    learn: LearnConfig = field(default_factory=LearnConfig)
    concierge: ConciergeSettings = field(default_factory=ConciergeSettings)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)


_SECTION_TYPES = {
    "kafka": KafkaConfig,
    "topics": TopicsConfig,
    "ingest": IngestConfig,
    "broker": BrokerConfig,
    "worker": WorkerConfig,
    "online": OnlineConfig,
    "serving": ServingConfig,
    "decide": DecideConfig,
    "attribution": AttributionSettings,
    "learn": LearnConfig,
    "concierge": ConciergeSettings,
    "replay": ReplayConfig,
    "privacy": PrivacyConfig,
}


def _from_env(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    tree: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == _CONFIG_VAR:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section not in _SECTION_TYPES or not key:
            raise SettingsError(f"unknown setting {name}: sections are {', '.join(sorted(_SECTION_TYPES))}")
        tree.setdefault(section, {})[key] = value
    return tree


def _build_section(section: str, values: Mapping[str, Any]) -> Any:
    cls = _SECTION_TYPES[section]
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        names = ", ".join(f"{section}.{k}" for k in unknown)
        raise SettingsError(f"unknown setting(s) {names}; {section} has {', '.join(sorted(known))}")
    try:
        return msgspec.convert(dict(values), cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid [{section}] setting: {exc}") from exc


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: Path | None = None, **overrides: Mapping[str, Any]
) -> Settings:
    """Build the settings: defaults < config file < environment < explicit ``overrides`` (per section).

    Args:
        environ: the environment to read (``os.environ`` when None is passed by the entry point).
        config_file: a TOML file with ``[kafka]``, ``[topics]``… tables; ``KAIROS_CONFIG`` names one too.
        overrides: section name to a mapping of field values, e.g. ``kafka={"bootstrap": "127.0.0.1:9"}``.

    Raises:
        SettingsError: an unknown section/field, or a value of the wrong type.
    """
    environ = environ or {}
    tree: dict[str, dict[str, Any]] = {}
    path = config_file or (Path(environ[_CONFIG_VAR]) if environ.get(_CONFIG_VAR) else None)
    if path is not None:
        with path.open("rb") as fh:
            for section, values in tomllib.load(fh).items():
                if section not in _SECTION_TYPES or not isinstance(values, dict):
                    raise SettingsError(f"unknown section [{section}] in {path}")
                tree.setdefault(section, {}).update(values)
    for section, values in _from_env(environ).items():
        tree.setdefault(section, {}).update(values)
    for section, values in overrides.items():
        if section not in _SECTION_TYPES:
            raise SettingsError(f"unknown section {section}")
        tree.setdefault(section, {}).update(values)
    return Settings(**{section: _build_section(section, values) for section, values in tree.items()})


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The ``KAIROS_*`` variables that rebuild ``settings`` in a child process (inverse of :func:`load_settings`).

    >>> env = settings_to_env(load_settings({}, kafka={"bootstrap": "h:1"}))
    >>> env["KAIROS_KAFKA_BOOTSTRAP"], load_settings(env).kafka.bootstrap
    ('h:1', 'h:1')
    """
    env: dict[str, str] = {}
    for section in _SECTION_TYPES:
        values = getattr(settings, section)
        for f in dataclasses.fields(values):
            env[f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"] = str(getattr(values, f.name))
    return env
