"""Progress bars for the long commands (tqdm on stderr), quiet when stderr is not a terminal.

Output meant for programs (the JSON last lines) stays on stdout and is never touched: a bar only draws when stderr
is a TTY, so CI logs, pipes and tests see nothing of it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

from tqdm import tqdm

__all__ = ["ProgressBar", "enabled", "next_step", "progress", "track"]

T = TypeVar("T")
ProgressBar = tqdm


def enabled(stream: IO[str] | None = None) -> bool:
    """Whether bars draw: ``stream`` (default stderr) is a terminal."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress(desc: str, *, total: float | None = None, unit: str = "it") -> tqdm:
    """A bar on stderr (disabled, and silent, when stderr is not a terminal); use as a context manager."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not enabled(), dynamic_ncols=True)


def track(items: Iterable[T], desc: str, *, total: float | None = None, unit: str = "it") -> Iterator[T]:
    """``items`` with a bar counting them (see :func:`progress`)."""
    with progress(desc, total=total, unit=unit) as bar:
        for item in items:
            yield item
            bar.update(1)


def next_step(bar: tqdm, description: str) -> None:
    """Count one step of a bar of steps (``unit="step"``) and name the one starting now."""
    bar.update(1)
    bar.set_description(description)
