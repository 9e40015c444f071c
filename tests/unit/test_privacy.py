"""Pseudonymisation and erasure, pure parts: the keyed hash on every event type, the privacy settings (the key
never in ``repr``), the writer's erasure order, the parquet history rewrite, the feature state's forgetting."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from featurestore.coalescing import CoalescingWriter
from featurestore.erasure import erase_history
from featurestore.history import append_history, ensure_offline_files, history_dir
from featurestore.views import view_spec
from kairos.settings import PrivacyConfig, SettingsError, load_settings, settings_to_env
from schemas.codec import EventDecoder, encode
from schemas.events import ProductView
from schemas.examples import example_events
from schemas.features import USER_FEATURES
from streams.features import FeatureState
from streams.pseudonym import PSEUDONYM_HEX_DIGITS, erased_key, pseudonymise, pseudonymise_event

KEY = b"0123456789abcdef0123456789abcdef"
OTHER = b"fedcba9876543210fedcba9876543210"


@pytest.mark.parametrize("event_type", sorted(example_events()))
def test_every_event_type_carries_only_pseudonyms_and_decodes_again(event_type: str) -> None:
    event = example_events()[event_type]
    hidden = pseudonymise_event(event, KEY)
    for field in ("user_id", "anonymous_id"):
        before, after = getattr(event, field), getattr(hidden, field)
        assert (after is None) == (before is None)
        if before is not None:
            assert after == pseudonymise(before, KEY) != before
            assert len(after) == PSEUDONYM_HEX_DIGITS
    wire = encode(hidden)
    for raw_id in (event.user_id, event.anonymous_id):
        if raw_id is not None:
            assert raw_id.encode() not in wire
    assert EventDecoder().decode(wire) == hidden
    assert hidden.partition_key == pseudonymise(event.partition_key, KEY)  # the record key follows the value
    assert (hidden.event_id, hidden.session_id, hidden.event_time) == (
        event.event_id,
        event.session_id,
        event.event_time,
    )


def test_pseudonyms_are_deterministic_per_key_and_differ_across_keys() -> None:
    ids = [f"user-{i}" for i in range(500)]
    first = [pseudonymise(i, KEY) for i in ids]
    assert first == [pseudonymise(i, KEY) for i in ids]
    assert len(set(first)) == len(ids)
    assert not set(first) & {pseudonymise(i, OTHER) for i in ids}


def test_erasure_records_need_the_header_not_just_a_null_value() -> None:
    assert erased_key(b"k1", [("kairos.erase", b"1"), ("kairos.src", b"x")]) == "k1"
    assert erased_key(b"k1", [("kairos.src", b"x")]) is None
    assert erased_key(b"k1", []) is None


def test_privacy_settings_keep_the_key_out_of_repr_and_fail_closed(tmp_path: Path) -> None:
    secret = "s" * 40
    settings = load_settings({"KAIROS_PRIVACY_PSEUDONYMISE": "true", "KAIROS_PRIVACY_KEY": secret})
    assert settings.privacy.load_key() == secret.encode()
    assert secret not in repr(settings)
    assert load_settings(settings_to_env(settings)).privacy.load_key() == secret.encode()  # child processes
    with pytest.raises(SettingsError, match="no key"):
        PrivacyConfig(pseudonymise=True).load_key()
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        PrivacyConfig(pseudonymise=True, key="short").load_key()
    with pytest.raises(SettingsError, match="not both"):
        PrivacyConfig(key=secret, key_file="k")
    path = tmp_path / "privacy.key"
    path.write_bytes(KEY + b"\n")
    assert PrivacyConfig(pseudonymise=True, key_file=str(path)).load_key() == KEY
    with pytest.raises(SettingsError, match="cannot be read"):
        PrivacyConfig(pseudonymise=True, key_file=str(tmp_path / "missing")).load_key()
    assert PrivacyConfig(key=secret).load_key() is None  # off: no key is used even when one is set


class _Store:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.calls: list[tuple[str, str, list[str]]] = []

    def write(self, view: str, rows: list[Mapping[str, Any]]) -> None:
        self.calls.append(("write", view, [r["user_id"] for r in rows]))
        self.rows.setdefault(view, {}).update({r["user_id"]: r for r in rows})

    def history(self, view: str, rows: list[Mapping[str, Any]]) -> None:
        self.calls.append(("history", view, [r["user_id"] for r in rows]))

    def erase(self, view: str, keys: list[str]) -> None:
        self.calls.append(("erase", view, keys))
        for key in keys:
            self.rows.get(view, {}).pop(key, None)


def test_the_writer_drops_pending_and_history_rows_then_erases_in_order() -> None:
    store = _Store()
    writer = CoalescingWriter(store.write, interval_s=3600, write_history=store.history, erase=store.erase)
    writer.offer("kairos_user", {"a": {"user_id": "a", "n": 1}, "b": {"user_id": "b", "n": 1}})
    writer.flush()  # a and b are online and waiting for the history
    writer.offer("kairos_user", {"a": {"user_id": "a", "n": 2}})  # a pending row of a
    writer.forget("kairos_user", ["a"], "user_id")
    writer.close()
    assert store.rows["kairos_user"].keys() == {"b"}
    assert ("erase", "kairos_user", ["a"]) in store.calls
    assert [c for c in store.calls if c[0] == "history"] == [("history", "kairos_user", ["b"])]
    assert store.calls.index(("erase", "kairos_user", ["a"])) < len(store.calls) - 1  # nothing of a after it
    assert all("a" not in keys for _, _, keys in store.calls[store.calls.index(("erase", "kairos_user", ["a"])) + 1 :])


def _user_frame(keys: list[str]) -> pd.DataFrame:
    spec = view_spec("kairos_user")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    defaults = {"int64": 0, "float64": 0.0, "bool": False, "string": "", "string_list": []}
    rows = [{"user_id": k, **{f.name: defaults[f.dtype] for f in USER_FEATURES}, "event_timestamp": at} for k in keys]
    return pd.DataFrame.from_records(rows, columns=[spec.join_key, *spec.feature_names, "event_timestamp"])


def test_history_parts_are_rewritten_without_the_erased_keys(tmp_path: Path) -> None:
    spec = view_spec("kairos_user")
    ensure_offline_files(tmp_path)
    append_history(tmp_path, spec, _user_frame(["a", "b"]))
    append_history(tmp_path, spec, _user_frame(["b", "c"]))
    append_history(tmp_path, spec, _user_frame(["a"]))
    assert erase_history(tmp_path, spec, ["a"]) == 2
    left = sorted(
        k for part in history_dir(tmp_path, spec).glob("*.parquet") for k in pq.read_table(part)["user_id"].to_pylist()
    )
    assert left == ["b", "b", "c"]
    assert erase_history(tmp_path, spec, ["a"]) == 0


def test_the_feature_state_forgets_a_user_and_keeps_the_others() -> None:
    events = example_events()
    state = FeatureState()
    view = events["product_view"]
    assert isinstance(view, ProductView)
    state.apply(view)
    key = view.partition_key
    now = view.event_time
    assert state.user_row(key, now) is not None
    assert state.forget_user(key)
    assert state.user_row(key, now) is None
    assert not state.forget_user(key)
    assert state.product_row(view.product_id, now) is not None  # products are everybody's


class _Record:
    """The parts of a confluent-kafka Message the attribution stage reads."""

    def __init__(self, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        self._key, self._value, self._headers = key, value, headers

    def topic(self) -> str:
        return "kairos.events.v1"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 7

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_700_000_000_000

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers


@pytest.mark.parametrize(("headers", "rejected"), [([("kairos.erase", b"1")], 0), ([], 1)])
def test_attribution_skips_an_erasure_record_but_dead_letters_a_bare_null(
    tmp_path: Path, headers: list[tuple[str, bytes]], rejected: int
) -> None:
    from agents.attribute import AttributionHandler
    from streams.attribution import AttributionPartition
    from streams.config import KafkaConfig, TopicsConfig

    handler = AttributionHandler(KafkaConfig(), TopicsConfig(), tmp_path)
    state = AttributionPartition()
    arrivals: list[Any] = []
    handler._arrive(_Record(b"ab12", None, headers), state, arrivals)  # type: ignore[arg-type]
    assert arrivals == []
    assert len(state.release().rejections) == rejected
