"""The Feast repository against real online stores: apply, write every view, read back via the SDK reader.

SQLite always; Redis on 127.0.0.1:6379 when one answers, otherwise a ``redis-server`` started here on a free port.
A missing ``redis-server`` binary fails the Redis tests; they never skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import redis

from featurestore import (
    VIEWS,
    FeastSdkReader,
    FeatureStoreConfig,
    FeatureStoreUnavailableError,
    OnlineFeatureWriter,
    ViewSpec,
    open_store,
)
from featurestore.coalescing import CoalescingWriter
from featurestore.store import APPLIED_MARKER

pytestmark = pytest.mark.integration

USER, SESSION, PRODUCT = VIEWS


def _answers(port: int) -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2).ping())
    except redis.exceptions.ConnectionError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis URL: the local server on 6379 if it answers, else one started for this module and stopped by PID."""
    if _answers(6379):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server binary on PATH: install redis-server")
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*args, "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server on port {port} did not start (exit code {process.poll()})")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> FeatureStoreConfig:
    online = "sqlite" if request.param == "sqlite" else request.getfixturevalue("redis_url")
    return FeatureStoreConfig(data_dir=str(tmp_path / "feast"), online_store=online)


def _value(dtype: str, seed: int) -> object:
    return {
        "int64": seed,
        "float64": seed + 0.5,
        "bool": seed % 2 == 1,
        "string": f"s{seed}",
        "string_list": [f"p{seed}", f"p{seed + 1}"],
    }[dtype]


def _row(view: ViewSpec, key: str, seed: int, at: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {view.join_key: key, "event_timestamp": at}
    row.update({spec.name: _value(spec.dtype, seed + i) for i, spec in enumerate(view.features)})
    return row


def _features(row: dict[str, Any], view: ViewSpec) -> dict[str, Any]:
    return {name: row[name] for name in view.feature_names}


def test_open_store_applies_once_and_registers_the_contract(tmp_path: Path) -> None:
    config = FeatureStoreConfig(data_dir=str(tmp_path / "feast"))
    store = open_store(config)
    views = {view.name: [f.name for f in view.features] for view in store.list_feature_views()}
    assert views == {view.name: list(view.feature_names) for view in VIEWS}
    assert {entity.name for entity in store.list_entities()} == {"user", "session", "product", "category"}
    assert {source.name for source in store.list_data_sources()} >= {view.push_source for view in VIEWS}
    registry = tmp_path / "feast" / "registry.db"
    before = (registry.stat().st_mtime_ns, (tmp_path / "feast" / APPLIED_MARKER).read_text())
    open_store(config)
    assert (registry.stat().st_mtime_ns, (tmp_path / "feast" / APPLIED_MARKER).read_text()) == before


def test_write_then_read_every_view(config: FeatureStoreConfig) -> None:
    store = open_store(config)
    writer = OnlineFeatureWriter(store)
    tag = uuid.uuid4().hex[:8]  # a shared Redis may hold other tests' keys
    now = datetime.now(UTC)
    user = _row(USER, f"u-{tag}", 1, now)
    session = _row(SESSION, f"s-{tag}", 20, now)
    products = [_row(PRODUCT, f"p-{tag}-{i}", 100 + 10 * i, now) for i in range(25)]
    writer.write(USER.name, [user])
    writer.write(SESSION.name, [_row(SESSION, session["session_id"], 7, now - timedelta(seconds=5)), session])
    writer.write(PRODUCT.name, products)

    missing = f"p-{tag}-missing"
    ids = [row["product_id"] for row in products] + [missing]
    read = FeastSdkReader(store).read(user["user_id"], session["session_id"], ids)

    assert read["user"] == _features(user, USER)
    assert read["session"] == _features(session, SESSION)
    assert read["products"] == {
        **{row["product_id"]: _features(row, PRODUCT) for row in products},
        missing: dict.fromkeys(PRODUCT.feature_names),
    }
    sdk = store.get_online_features(
        [f"{PRODUCT.name}:{name}" for name in PRODUCT.feature_names], [{"product_id": products[3]["product_id"]}]
    ).to_dict()
    assert {name: sdk[name][0] for name in PRODUCT.feature_names} == _features(products[3], PRODUCT)


def test_read_without_products(tmp_path: Path) -> None:
    store = open_store(FeatureStoreConfig(data_dir=str(tmp_path / "feast")))
    user = _row(USER, "u1", 3, datetime.now(UTC))
    OnlineFeatureWriter(store).write(USER.name, [user])
    read = FeastSdkReader(store).read("u1", "s-unknown", [])
    assert read["user"] == _features(user, USER)
    assert read["session"] == dict.fromkeys(SESSION.feature_names)
    assert read["products"] == {}


def test_write_offline_appends_typed_parts(tmp_path: Path) -> None:
    store = open_store(FeatureStoreConfig(data_dir=str(tmp_path / "feast")))
    writer = OnlineFeatureWriter(store)
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [_row(PRODUCT, f"p{i}", i, now) for i in range(3)]
    writer.write_offline(PRODUCT.name, rows[:2])
    writer.write_offline(PRODUCT.name, rows[2:])
    table = pq.read_table(tmp_path / "feast" / "offline" / PRODUCT.name)
    got = sorted(table.to_pylist(), key=lambda row: row["product_id"])
    assert got == rows


def test_history_written_through_the_coalescing_writer_serves_point_in_time_training_sets(tmp_path: Path) -> None:
    """The worker's path: online writes accumulate, parts are appended, Feast joins them as of each timestamp."""
    store = open_store(FeatureStoreConfig(data_dir=str(tmp_path / "feast")))
    feast = OnlineFeatureWriter(store)
    writer = CoalescingWriter(feast.write, interval_s=3600, write_history=feast.write_offline, history_every_s=0)
    now = datetime.now(UTC).replace(microsecond=0)
    early, late = now - timedelta(hours=2), now - timedelta(hours=1)
    for view in (USER, PRODUCT):
        writer.offer(view.name, {"a": _row(view, "a", 1, early)})
        writer.flush()
        writer.offer(view.name, {"a": _row(view, "a", 2, late), "b": _row(view, "b", 3, late)})
        writer.flush()
    writer.close()
    for view in (USER, PRODUCT):
        numeric = [s.name for s in view.features if s.dtype in ("int64", "float64")][:3]
        entities = pd.DataFrame(
            {view.join_key: ["a", "a", "b"], "event_timestamp": [early + timedelta(minutes=30), now, now]}
        )
        got = store.get_historical_features(entity_df=entities, features=[f"{view.name}:{n}" for n in numeric])
        frame = got.to_df().sort_values([view.join_key, "event_timestamp"]).reset_index(drop=True)
        expected = [_row(view, "a", 1, early), _row(view, "a", 2, late), _row(view, "b", 3, late)]
        assert frame[numeric].to_dict("records") == [{n: row[n] for n in numeric} for row in expected], view.name


def test_down_redis_is_a_transient_error(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    with pytest.raises(FeatureStoreUnavailableError):
        store = open_store(FeatureStoreConfig(data_dir=str(tmp_path / "feast"), online_store=url))
        OnlineFeatureWriter(store).write(USER.name, [_row(USER, "u1", 1, datetime.now(UTC))])


def test_feast_cli_applies_the_materialized_repo(tmp_path: Path) -> None:
    from featurestore import materialize_repo

    data_dir = materialize_repo(FeatureStoreConfig(data_dir=str(tmp_path / "feast")))
    feast_cli = Path(sys.executable).parent / "feast"
    result = subprocess.run(
        [str(feast_cli), "-c", str(data_dir), "apply"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kairos_product" in result.stdout
    assert (data_dir / "registry.db").is_file()


def _redis_server(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("no redis-server binary on PATH: install redis-server")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"redis-server on port {port} did not start (exit code {process.poll()})")
        time.sleep(0.05)
    return process


def test_the_writer_rides_out_a_redis_outage_and_catches_up_on_its_own(tmp_path: Path) -> None:
    """Redis killed while rows keep coming: nothing raises, the rows wait (latest per key), the writer backs off;
    Redis back on the same port: the writer drains on its own and the rows are readable."""
    port = _free_port()
    server = _redis_server(port)
    store = open_store(FeatureStoreConfig(data_dir=str(tmp_path / "feast"), online_store=f"redis://127.0.0.1:{port}/0"))
    feast = OnlineFeatureWriter(store)
    writer = CoalescingWriter(feast.write, interval_s=0.05, max_backoff_s=0.2)
    now = datetime.now(UTC)
    try:
        writer.offer(USER.name, {"u1": _row(USER, "u1", 1, now)})
        writer.flush()
        server.kill()  # the store goes away without a goodbye
        server.wait(timeout=10)
        writer.offer(USER.name, {"u2": _row(USER, "u2", 2, now)})
        writer.offer(USER.name, {"u2": _row(USER, "u2", 3, now)})  # newer: this one must land
        deadline = time.monotonic() + 30
        while writer.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.failures >= 2 and not writer.available and writer.pending == 1
        server = _redis_server(port)
        deadline = time.monotonic() + 30
        while not (writer.available and writer.pending == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.available and writer.pending == 0
        numeric = [s.name for s in USER.features if s.dtype == "int64"]
        got = store.get_online_features(
            features=[f"{USER.name}:{n}" for n in numeric], entity_rows=[{USER.join_key: "u2"}]
        ).to_dict()
        expected = _row(USER, "u2", 3, now)
        assert {n: got[n][0] for n in numeric} == {n: expected[n] for n in numeric}
    finally:
        writer.close()
        server.terminate()
        server.wait(timeout=10)
