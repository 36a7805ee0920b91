"""The machine a benchmark ran on, as its results record it, and the one timer (shared by every script here)."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """Call ``fn`` ``repeats`` times: (median wall seconds, every wall time)."""
    walls = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    return statistics.median(walls), walls


def cpu_name() -> str:
    """The CPU's model name from ``/proc/cpuinfo``; elsewhere what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
