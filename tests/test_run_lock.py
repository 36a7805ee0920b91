"""Two processes sharing a run cache train a run once: the training lock (pddslib.runs.cache.training_lock)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from pddslib.features import demo_stores

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _run_after_barrier(store: str, cache: str, barrier, out) -> None:
    from pddslib.config import RunSpec
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.one import run_one

    corpus = load_corpus(store)
    spec = RunSpec.build("speechtext", "pdds", 0, max_epochs=2)
    barrier.wait()  # both processes reach run_one together: both find the run not cached
    rec, _ = run_one(spec, corpus, cache_dir=cache, device="cpu", save_model=False)
    out.put((rec["cached"], rec["wa"], rec["key"]))


def test_two_processes_sharing_a_cache_train_a_run_once(tmp_path: Path):
    store = str(demo_stores.write_demo_store(tmp_path / "store", scale=0.05, seed=0))
    cache = str(tmp_path / "runs")
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_run_after_barrier, args=(store, cache, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    # exactly one trained it (cached False); the other waited for the lock and read the published run
    assert sorted(c for c, _, _ in got) == [False, True], got
    assert got[0][1:] == got[1][1:]  # the same run: same key, same WA
    assert [p.name for p in Path(cache).iterdir() if not p.name.startswith(".")] == [got[0][2]]
