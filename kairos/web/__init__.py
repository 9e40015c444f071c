"""What people see: the worker's live page (:mod:`kairos.web.live`) and self-contained HTML reports, one format."""

from kairos.web.figure import Figure, Table
from kairos.web.metric_figures import metric_figures, metric_tables
from kairos.web.report import render_report, write_report
from kairos.web.snapshot import History, Snapshot, snapshot_of_registry, snapshot_of_text

__all__ = [
    "Figure",
    "History",
    "Snapshot",
    "Table",
    "metric_figures",
    "metric_tables",
    "render_report",
    "snapshot_of_registry",
    "snapshot_of_text",
    "write_report",
]
