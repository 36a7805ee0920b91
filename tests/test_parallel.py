"""Concurrent runs (pddslib.runs.workers): the same runs as one at a time, cached the same way."""

from __future__ import annotations

import numpy as np
import pytest

from pddslib.config import RunSpec
from pddslib.features import demo_stores
from pddslib.runs import workers as parallel
from pddslib.runs.cache import run_key
from pddslib.runs.corpus import Corpus, load_corpus
from pddslib.runs.sweep import run_specs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return load_corpus(str(demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)))


def _specs(corpus: Corpus) -> list[RunSpec]:
    # with and without PDDS, two seeds: the runs differ in rows, batches and initial weights
    return [RunSpec.build("speechtext", s, seed, max_epochs=2) for s in ("none", "pdds") for seed in (0, 1)]


def test_concurrent_runs_train_the_same_models_as_one_at_a_time(corpus, tmp_path):
    specs = _specs(corpus)
    one = run_specs(specs, corpus, cache_dir=tmp_path / "one", device="cpu", jobs=1, progress=False, log=None,
                    save_model=False)
    lines: list[str] = []
    two = run_specs(specs, corpus, cache_dir=tmp_path / "two", device="cpu", jobs=2, progress=False,
                    log=lines.append, save_model=False)
    # the table is in spec order whatever order the runs finished in; every run was trained
    cols = ["model", "strategy", "seed", "n_train", "epochs", "key"]
    assert one.runs[cols].equals(two.runs[cols])
    assert not two.runs["cached"].any() and len(lines) == len(specs)
    assert sorted(int(line.split("/")[0][1:]) for line in lines) == list(range(1, len(specs) + 1))
    # a worker runs one thread, this process more: the same models up to float noise of the thread count
    for a, b in zip(one.runs.itertuples(), two.runs.itertuples()):
        np.testing.assert_allclose(a.losses, b.losses, rtol=1e-4)
        pa, pb = one.predictions[a.key], two.predictions[b.key]
        assert list(pa["utt_id"]) == list(pb["utt_id"])
        probs = [c for c in pa.columns if c.startswith("p_")]
        np.testing.assert_allclose(pa[probs].to_numpy(), pb[probs].to_numpy(), atol=1e-3)
    # the workers published ordinary cache entries: a second sweep reads them all, here
    again = run_specs(specs, corpus, cache_dir=tmp_path / "two", device="cpu", jobs=2, progress=False, log=None,
                      save_model=False)
    assert again.runs["cached"].all()
    np.testing.assert_array_equal(again.runs["wa"].to_numpy(), two.runs["wa"].to_numpy())


def test_only_the_missing_runs_go_to_the_workers(corpus, tmp_path):
    specs = _specs(corpus)[:3]
    first = run_specs(specs[:1], corpus, cache_dir=tmp_path, device="cpu", jobs=1, progress=False, log=None,
                      save_model=False)
    lines: list[str] = []
    res = run_specs(specs, corpus, cache_dir=tmp_path, device="cpu", jobs=2, progress=False, log=lines.append,
                    save_model=False)
    assert list(res.runs["cached"]) == [True, False, False]
    # one line per run, numbered as they appear: the cached run first, then the trained ones
    assert [line.split("]")[0] for line in lines] == ["[1/3", "[2/3", "[3/3"]
    assert "cached)" in lines[0] and not any("cached)" in line for line in lines[1:])
    assert res.runs["wa"].iloc[0] == first.runs["wa"].iloc[0]
    assert set(res.predictions) == {run_key(s, corpus) for s in specs}


def test_a_failing_run_in_a_worker_is_an_error_here(corpus, tmp_path):
    class Moved(Corpus):  # a store whose content differs from what the sweep started with
        @property
        def key(self) -> str:
            return "0" * 64

    moved = Moved(corpus.store, corpus.name)
    with pytest.raises(RuntimeError, match="the feature store changed while the sweep ran"):
        run_specs(_specs(corpus)[:2], moved, cache_dir=tmp_path, device="cpu", jobs=2, progress=False, log=None,
                  save_model=False)
    # the pool was stopped and the next sweep starts a new one
    res = run_specs(_specs(corpus)[:2], corpus, cache_dir=tmp_path, device="cpu", jobs=2, progress=False,
                    log=None, save_model=False)
    assert len(res.runs) == 2 and not res.runs["cached"].any()


@pytest.mark.parametrize("jobs, device, n, expected", [
    (1, "cpu", 10, 1), (3, "cpu", 2, 2), ("auto", "cuda", 10, parallel.GPU_JOBS), ("auto", "cuda:1", 2, 2),
    (None, "cpu", 100, None),
])
def test_resolve_jobs(jobs, device, n, expected, monkeypatch):
    monkeypatch.setattr(parallel, "cpu_count", lambda: 6)
    assert parallel.resolve_jobs(jobs, device, n) == (6 if expected is None else expected)


@pytest.mark.parametrize("bad", [0, -1, "two", 1.5j])
def test_bad_jobs_are_refused(bad):
    with pytest.raises(ValueError, match="jobs must be"):
        parallel.resolve_jobs(bad, "cpu", 4)


def test_threads_are_shared_out_on_a_cpu_only(monkeypatch):
    monkeypatch.setattr(parallel, "cpu_count", lambda: 8)
    assert parallel.threads_per_job(2, "cpu") == 4
    assert parallel.threads_per_job(16, "cpu") == 1
    assert parallel.threads_per_job(4, "cuda") == 1


def test_cli_jobs_option():
    from pddslib.cli import build_parser

    p = build_parser()
    assert p.parse_args(["run", "--model", "cltnet", "--out", "x"]).jobs == "auto"
    assert p.parse_args(["run", "--model", "cltnet", "--out", "x", "--jobs", "3"]).jobs == 3
    with pytest.raises(SystemExit) as err:
        p.parse_args(["run", "--model", "cltnet", "--out", "x", "--jobs", "0"])
    assert err.value.code == 2


SWEEP = """
import sys
from pddslib.config import RunSpec
from pddslib.runs import load_corpus, run_specs

if __name__ == "__main__":
    corpus = load_corpus(sys.argv[1])
    specs = [RunSpec.build("cltnet", "pdds", seed, max_epochs=500, patience=500) for seed in range(4)]
    print("start", flush=True)
    run_specs(specs, corpus, cache_dir=sys.argv[2], device="cpu", jobs=2, progress=False, log=None)
"""


def _workers(mark: str) -> list[int]:
    """Live processes (the sweep's workers) whose environment holds ``mark``."""
    from pathlib import Path

    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if mark.encode() in (proc / "environ").read_bytes() and b"spawn_main" in (proc / "cmdline").read_bytes():
                if (proc / "stat").read_text().split(")")[-1].split()[0] != "Z":
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_stopping_a_sweep_stops_its_workers(corpus, tmp_path, how):
    """Ctrl-C stops the workers (the parent terminates them); a killed parent takes them with it."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import uuid

    mark = f"PDDS_TEST_SWEEP={uuid.uuid4().hex}"
    env = {**os.environ, mark.split("=")[0]: mark.split("=")[1]}
    script = tmp_path / "sweep.py"
    script.write_text(SWEEP)
    restore = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (see test_faults)
    try:
        child = subprocess.Popen([sys.executable, str(script), str(corpus.store.path), str(tmp_path / "runs")],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, restore)
    try:
        assert child.stdout.readline().strip() == "start"
        deadline = time.monotonic() + 60
        while len(_workers(mark)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_workers(mark)) == 2, "the workers did not start"
        time.sleep(1.0)
        child.send_signal(getattr(signal, how))
        child.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _workers(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _workers(mark) == []
        stderr = child.stderr.read()
        if how == "SIGINT":
            assert "KeyboardInterrupt" in stderr and stderr.count("Traceback") == 1  # the parent's, no worker's
        # nothing half-written was published: no run finished, so the cache holds no run
        assert not any(p.is_dir() and not p.name.startswith(".") for p in (tmp_path / "runs").iterdir())
    finally:
        if child.poll() is None:
            child.kill()
        for pid in _workers(mark):
            os.kill(pid, signal.SIGKILL)
