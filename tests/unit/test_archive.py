"""The archive's files: round trip, row groups and segments, ranges, resumable manifest, bad input, JSON lines."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from streams.archive import (
    ArchivedRecord,
    ArchiveFileError,
    ArchiveInputError,
    ArchiveSchemaError,
    ArchiveWriter,
    Manifest,
    RecordRange,
    WriterLimits,
    check_archive,
    import_jsonl,
    iter_partition,
    load_manifest,
    open_archive,
    read_segment,
)
from streams.archive.format import SCHEMA_VERSION_KEY
from streams.archive.manifest import remove_orphans


def _records(topic: str, partition: int, n: int, start: int = 0) -> list[ArchivedRecord]:
    return [
        ArchivedRecord(
            topic,
            partition,
            start + i,
            1_000 * (start + i),
            f"u{i % 3}".encode() if i % 5 else None,
            (("kairos.src", f"raw/{partition}/{i}".encode()), ("empty", None)) if i % 2 else (),
            None if i == 7 else f'{{"i":{start + i}}}'.encode(),
        )
        for i in range(n)
    ]


def _write(root: Path, records: list[ArchivedRecord], limits: WriterLimits | None = None) -> Manifest:
    manifest = load_manifest(root) if root.exists() else Manifest()
    writer = ArchiveWriter(root, manifest, limits)
    for record in records:
        writer.append(record)
    writer.close()
    return manifest


def test_round_trip_keeps_every_column_in_offset_order(tmp_path: Path) -> None:
    records = _records("t.raw", 0, 40) + _records("t.raw", 2, 5)
    _write(tmp_path, records, WriterLimits(row_group_rows=7, segment_rows=15))
    manifest = open_archive(tmp_path)
    assert list(iter_partition(tmp_path, manifest, "t.raw", 0)) == records[:40]
    assert list(iter_partition(tmp_path, manifest, "t.raw", 2)) == records[40:]
    assert [s.rows for s in manifest.partitions["t.raw/0"].segments] == [15, 15, 10]
    assert manifest.partitions["t.raw/0"].next_offset == 40
    first = tmp_path / manifest.partitions["t.raw/0"].segments[0].file
    meta = pq.ParquetFile(first).metadata
    assert meta.num_row_groups == 3  # 7 + 7 + 1
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert first.parent.name == "partition=0" and first.parent.parent.name == "t.raw"
    assert check_archive(tmp_path, manifest) == 45


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (RecordRange(from_offset=10, until_offset=13), [10, 11, 12]),
        (RecordRange(from_ms=25_000, until_ms=28_000), [25, 26, 27]),
        (RecordRange(from_offset=38), [38, 39]),
    ],
)
def test_ranges_select_by_offset_or_timestamp(tmp_path: Path, selection: RecordRange, expected: list[int]) -> None:
    _write(tmp_path, _records("t", 1, 40), WriterLimits(segment_rows=10))
    got = [r.offset for r in iter_partition(tmp_path, open_archive(tmp_path), "t", 1, selection)]
    assert got == expected


def test_a_resumed_writer_continues_and_orphans_are_removed(tmp_path: Path) -> None:
    _write(tmp_path, _records("t", 0, 10))
    stray = tmp_path / "t" / "partition=0" / "00000000000000000010-00000000000000000019.parquet"
    stray.write_bytes(b"left by a crash before the manifest was saved")
    (tmp_path / "t" / "partition=0" / "x.parquet.tmp").write_bytes(b"unfinished")
    manifest = load_manifest(tmp_path)
    assert len(remove_orphans(tmp_path, manifest)) == 2
    _write(tmp_path, _records("t", 0, 5, start=10))
    manifest = open_archive(tmp_path)
    assert [r.offset for r in iter_partition(tmp_path, manifest, "t", 0)] == list(range(15))


def test_an_aborted_writer_leaves_nothing(tmp_path: Path) -> None:
    manifest = Manifest()
    writer = ArchiveWriter(tmp_path, manifest, WriterLimits(row_group_rows=2))
    for record in _records("t", 0, 5):
        writer.append(record)
    writer.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert manifest.partitions == {}


def _segment(root: Path) -> Path:
    return root / open_archive(root).partitions["t/0"].segments[0].file


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path, _records("t", 0, 30))
    path = _segment(tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ArchiveFileError, match=str(path)):
        list(iter_partition(tmp_path, open_archive(tmp_path), "t", 0))
    with pytest.raises(ArchiveFileError, match="not a readable Parquet"):
        check_archive(tmp_path, open_archive(tmp_path))


def test_a_file_that_is_not_parquet_is_named(tmp_path: Path) -> None:
    _write(tmp_path, _records("t", 0, 3))
    path = _segment(tmp_path)
    path.write_text("topic,partition\nt,0\n")
    with pytest.raises(ArchiveFileError, match=f"{path}: not a readable Parquet file"):
        list(read_segment(path))


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, _records("t", 0, 3))
    path = _segment(tmp_path)
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({SCHEMA_VERSION_KEY: b"2"}), path)
    with pytest.raises(ArchiveSchemaError, match=f"{path}: archive schema version 2 is newer"):
        list(read_segment(path))


def test_plain_parquet_without_our_metadata_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, _records("t", 0, 3))
    path = _segment(tmp_path)
    pq.write_table(pq.read_table(path).replace_schema_metadata({}), path)
    with pytest.raises(ArchiveFileError, match="not a Kairos archive file"):
        list(read_segment(path))


def test_json_lines_bare_events_and_envelopes(tmp_path: Path) -> None:
    event = {"event_id": "e1", "user_id": "u-9", "event_time": "2026-01-01T00:00:00+00:00", "event_type": "x"}
    lines = [
        orjson.dumps(event),
        orjson.dumps({"topic": "k.raw", "partition": 3, "offset": 7, "timestamp": 5, "key": "u-1", "value": "{bad"}),
        orjson.dumps({"topic": "k.raw", "partition": 3, "value_b64": base64.b64encode(b"\xff").decode()}),
        b"",
        orjson.dumps({"topic": "k.raw", "partition": 1, "value": {"a": 1}, "headers": {"h": "v"}}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    root = tmp_path / "archive"
    assert import_jsonl(source, root, default_topic="k.raw", partitions=4) == {"k.raw": 4}
    manifest = open_archive(root)
    [bare] = [r for p in range(4) for r in iter_partition(root, manifest, "k.raw", p) if r.key == b"u-9"]
    assert bare.value == lines[0] and bare.timestamp_ms == 1767225600000 and bare.offset == 0
    p3 = list(iter_partition(root, manifest, "k.raw", 3))
    assert [(r.offset, r.value) for r in p3 if r.key != b"u-9"] == [(7, b"{bad"), (8, b"\xff")]
    [p1] = [r for r in iter_partition(root, manifest, "k.raw", 1) if r.key is None]
    assert p1.value == b'{"a":1}' and p1.headers == (("h", b"v"),)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"event_id": "e1"}\n{"event_id": "e2", "user_', "line 2"),
        (b'{"topic": "t", "partition": 9, "value": "x"}\n', "line 1: partition must be"),
        (b"[1, 2]\n", "line 1: not a JSON object"),
        (b'{"value": "a", "offset": 5}\n{"value": "b", "offset": 2}\n', "line 2: offset 2"),
    ],
)
def test_bad_json_lines_are_named_and_nothing_is_written(tmp_path: Path, content: bytes, problem: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(content)
    root = tmp_path / "archive"
    with pytest.raises(ArchiveInputError, match=f"{source}: {problem}"):
        import_jsonl(source, root, default_topic="t", partitions=4)
    assert not root.exists() or [p for p in root.rglob("*") if p.is_file()] == []


def test_cli_imports_json_lines_and_names_a_bad_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kairos.cli import cli

    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text('{"event_id": "e1", "user_id": "u1"}\n')
    bad.write_text('{"event_id": "e1", "user_id": "u1"}\n{"event_id"')
    runner = CliRunner()
    ok = runner.invoke(cli, ["archive", str(tmp_path / "a"), "--from-jsonl", str(good)], env={})
    assert ok.exit_code == 0, ok.output
    assert orjson.loads(ok.output.splitlines()[-1])["imported"] == {"kairos.events.raw.v1": 1}
    failed = runner.invoke(cli, ["archive", str(tmp_path / "b"), "--from-jsonl", str(bad)], env={})
    assert failed.exit_code == 1 and f"{bad}: line 2" in failed.output
    assert not (tmp_path / "b").exists()
