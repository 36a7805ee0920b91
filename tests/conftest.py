"""Shared test set-up."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))  # tests/iemocap_fixture.py

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _crema_d_candidates() -> list[Path]:
    env = os.environ.get("PDDS_CREMA_D")
    out = [Path(env)] if env else []
    out.append(REPO.parent / "shared" / "data" / "crema-d")  # the shared/ folder beside the checkout
    return out


@pytest.fixture(scope="session")
def crema_d_votes() -> Path:
    """The shared copy of CREMA-D's tabulatedVotes.csv; required under CI (CI=1), else skipped."""
    for folder in _crema_d_candidates():
        f = folder / "tabulatedVotes.csv" if folder.suffix != ".csv" else folder
        if f.is_file():
            return f
    msg = ("CREMA-D votes not found (looked in: " + ", ".join(map(str, _crema_d_candidates()))
           + "); set PDDS_CREMA_D to the folder holding tabulatedVotes.csv")
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Tiny random data2vec-audio and BERT checkpoints in a temp folder (see tests/tiny_models.py)."""
    from tiny_models import save_tiny_models

    return save_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def one_thread(monkeypatch, tmp_path):
    """A private PDDS_CACHE and one torch thread: on 2 cores shared with other jobs, intra-op
    threads thrash (tiny-tensor tests then run 10-100 times slower); results are identical."""
    import torch

    monkeypatch.setenv("PDDS_CACHE", str(tmp_path / "cache"))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
