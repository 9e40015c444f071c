"""The event-log archive: Kafka topics (or a JSON-lines export) as zstd Parquet, partitioned by topic/partition."""

from streams.archive.errors import ArchiveError, ArchiveFileError, ArchiveInputError, ArchiveSchemaError
from streams.archive.format import ARCHIVE_SCHEMA, SCHEMA_VERSION, ArchivedRecord, open_segment, read_segment
from streams.archive.jsonl import import_jsonl, parse_line
from streams.archive.manifest import Manifest, Segment, load_manifest
from streams.archive.partitioner import murmur2, partition_for
from streams.archive.reader import RecordRange, check_archive, iter_partition, open_archive
from streams.archive.sink import ArchiveResult, archive_topics, topic_partitions
from streams.archive.writer import ArchiveWriter, WriterLimits

__all__ = [
    "ARCHIVE_SCHEMA",
    "SCHEMA_VERSION",
    "ArchiveError",
    "ArchiveFileError",
    "ArchiveInputError",
    "ArchiveResult",
    "ArchiveSchemaError",
    "ArchiveWriter",
    "ArchivedRecord",
    "Manifest",
    "RecordRange",
    "Segment",
    "WriterLimits",
    "archive_topics",
    "check_archive",
    "import_jsonl",
    "iter_partition",
    "load_manifest",
    "murmur2",
    "open_archive",
    "open_segment",
    "parse_line",
    "partition_for",
    "read_segment",
    "topic_partitions",
]
