"""Headless Chromium for the page tests: find it (required under CI) and render a URL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is required under CI (.ci/run installs Debian's chromium)")
    pytest.skip("no Chromium here (apt-get install chromium)")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--virtual-time-budget=15000"]


def render(url: str, profile: Path, screenshot: Path | None = None) -> str:
    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    if screenshot is not None:
        cmd += ["--window-size=1280,2400", f"--screenshot={screenshot}"]
    else:
        cmd += ["--dump-dom"]
    r = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"chromium failed on {url}: {r.stderr[-2000:]}"
    return r.stdout


