"""The page's static files: our script and style beside this module, Plotly's bundle from the ``plotly`` wheel."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

__all__ = ["asset", "plotly_js_path"]

_STATIC = Path(__file__).with_name("static")
_OURS = frozenset({"figures.js", "live.js", "live.html", "page.css"})


def plotly_js_path() -> Path:
    """``plotly.min.js`` as the ``plotly`` wheel ships it (no CDN: the page and the reports work offline).

    Raises:
        FileNotFoundError: the ``plotly`` package is not installed (it is pinned in requirements.lock).
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the plotly package is not installed (requirements.lock pins it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"no {path}")
    return path


@cache
def asset(name: str) -> bytes:
    """The bytes of static file ``name`` (``plotly.min.js`` or one of ours), read once.

    Raises:
        KeyError: not a file the page serves.
    """
    if name == "plotly.min.js":
        return plotly_js_path().read_bytes()
    if name not in _OURS:
        raise KeyError(name)
    return (_STATIC / name).read_bytes()
