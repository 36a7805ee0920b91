"""Where pddslib keeps what it computes: the one place that reads ``$PDDS_CACHE``.

``$PDDS_CACHE`` (default ``~/.cache/pddslib``) holds ``runs/`` (finished training runs, keyed by
content), ``demo/`` (generated demo stores), ``crema-d/`` (downloaded votes) and, by default,
``iemocap-features/`` (``pdds extract``'s store). Every entry is written atomically and keyed on
what it was computed from, so one cache can be shared by several processes.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$PDDS_CACHE``, or ``~/.cache/pddslib`` when it is unset or empty."""
    env = os.environ.get("PDDS_CACHE", "")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pddslib"


def cache_path(*parts: str) -> Path:
    """A path under :func:`cache_root`, e.g. ``cache_path("runs")``."""
    return cache_root().joinpath(*parts)
