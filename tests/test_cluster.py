"""Sweeps on a Dask cluster (pddslib.runs.cluster), on real LocalClusters: the same runs as here, resumed
after a killed worker, run once for two clients, and a clear error when there is no cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")
torch = pytest.importorskip("torch")

from pddslib.config import RunSpec  # noqa: E402
from pddslib.features import demo_stores  # noqa: E402
from pddslib.runs import cluster  # noqa: E402
from pddslib.runs.corpus import load_corpus  # noqa: E402
from pddslib.runs.sweep import run_specs  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = Path(__file__).resolve().parents[1]


def _cluster(**kw):
    kw = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0", **kw}
    return distributed.LocalCluster(**kw)


@pytest.fixture(scope="module")
def dask_cluster():
    with _cluster() as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return load_corpus(str(demo_stores.write_demo_store(tmp_path_factory.mktemp("demo") / "store", scale=0.05, seed=0)))


def _specs(seeds=(0, 1), **kw) -> list[RunSpec]:
    # the demo sweep: 2 strategies x 2 seeds, 1 epoch
    kw = {"max_epochs": 1, **kw}
    return [RunSpec.build("cltnet", s, seed, **kw) for s in ("none", "pdds") for seed in seeds]


def _one_thread():
    """This process trains on one thread, as each Dask worker does (the nanny sets OMP_NUM_THREADS=1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    return before


def test_a_cluster_sweep_gives_the_runs_of_a_local_one(dask_cluster, corpus, tmp_path):
    specs = _specs()
    before = _one_thread()
    try:
        local = run_specs(specs, corpus, cache_dir=tmp_path / "local", device="cpu", jobs=1, progress=False, log=None)
    finally:
        torch.set_num_threads(before)
    lines: list[str] = []
    remote = run_specs(specs, corpus, cache_dir=tmp_path / "remote", device="cpu", progress=False, log=lines.append,
                       scheduler=dask_cluster.scheduler_address)
    assert not remote.runs["cached"].any() and len(lines) == len(specs)
    # in spec order, bit for bit, apart from the wall time
    drop = ["seconds"]
    assert remote.runs.drop(columns=drop).to_csv() == local.runs.drop(columns=drop).to_csv()
    for key, frame in local.predictions.items():
        assert remote.predictions[key].to_csv(index=False) == frame.to_csv(index=False)
    # every run is in the shared cache: a second sweep trains nothing
    again = run_specs(specs, corpus, cache_dir=tmp_path / "remote", device="cpu", progress=False, log=None,
                      scheduler=dask_cluster.scheduler_address)
    assert again.runs["cached"].all()


def test_pdds_run_on_a_scheduler_writes_the_runs_csv_of_a_local_run(dask_cluster, corpus, tmp_path):
    """The CLI: ``--scheduler`` and ``--jobs 1`` give the same runs.csv (but its seconds column) and predictions."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PDDS_CACHE": str(tmp_path / "cache")}
    common = [sys.executable, "-m", "pddslib", "run", "--model", "cltnet", "--strategy", "pdds", "--seeds", "2",
              "--epochs", "1", "--corpus", str(corpus.store.path), "--device", "cpu", "--no-progress"]
    outs = {}
    for name, extra in (("local", ["--jobs", "1"]), ("remote", ["--scheduler", dask_cluster.scheduler_address])):
        out = tmp_path / name
        r = subprocess.run(common + extra + ["--cache", str(tmp_path / f"runs-{name}"), "--out", str(out)],
                           env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
        assert r.returncode == 0, r.stderr[-3000:]
        outs[name] = out
    import pandas as pd

    local, remote = (pd.read_csv(outs[n] / "runs.csv") for n in ("local", "remote"))
    assert list(local.columns) == list(remote.columns) and "seconds" in local.columns
    assert remote.drop(columns="seconds").to_csv() == local.drop(columns="seconds").to_csv()
    for f in sorted((outs["local"] / "predictions").iterdir()):
        assert (outs["remote"] / "predictions" / f.name).read_bytes() == f.read_bytes()


def test_a_killed_worker_does_not_lose_the_sweep(corpus, tmp_path):
    specs = _specs(seeds=(10, 11), max_epochs=3)
    with _cluster() as c, distributed.Client(c, set_as_default=False) as client:
        result: dict = {}

        def sweep():
            try:
                result["res"] = run_specs(specs, corpus, cache_dir=tmp_path / "runs", device="cpu", progress=False,
                                          log=None, scheduler=client)
            except BaseException as e:  # noqa: BLE001 - reported below
                result["error"] = e

        t = threading.Thread(target=sweep)
        t.start()
        deadline = time.monotonic() + 120
        while not any(client.processing().values()):  # a run has started on some worker
            assert time.monotonic() < deadline, "no run started"
            time.sleep(0.05)
        time.sleep(1.0)  # mid-run
        busy = next(addr for addr, keys in client.processing().items() if keys)
        pid = client.run(os.getpid, workers=[busy])[busy]
        os.kill(pid, signal.SIGKILL)
        t.join(timeout=240)
        assert not t.is_alive(), "the sweep hung after its worker was killed"
    assert "error" not in result, result.get("error")
    res = result["res"]
    assert len(res.runs) == len(specs) and res.runs["wa"].notna().all()
    assert sorted((tmp_path / "runs").iterdir()) == sorted(tmp_path / "runs" / k for k in res.runs["key"])
    # the killed run was trained again whole: its entry reads back as the record the sweep returned
    again = run_specs(specs, corpus, cache_dir=tmp_path / "runs", device="cpu", progress=False, log=None, jobs=1)
    assert again.runs["cached"].all() and again.runs["wa"].tolist() == res.runs["wa"].tolist()


def test_two_clients_of_one_sweep_train_each_run_once(dask_cluster, corpus, tmp_path):
    specs = _specs(seeds=(20, 21))
    results: list = [None, None]
    with distributed.Client(dask_cluster, set_as_default=False) as watcher:
        with distributed.get_task_stream(client=watcher) as stream:
            def sweep(i):
                with distributed.Client(dask_cluster.scheduler_address, set_as_default=False) as client:
                    results[i] = run_specs(specs, corpus, cache_dir=tmp_path / "runs", device="cpu",
                                           progress=False, log=None, scheduler=client)

            threads = [threading.Thread(target=sweep, args=(i,)) for i in (0, 1)]
            for t in threads:
                t.start()
                time.sleep(0.5)  # the second starts while the first runs
            for t in threads:
                t.join(timeout=240)
    assert all(r is not None for r in results)
    trained = [ts for ts in stream.data if str(ts["key"]).startswith("pdds-run-")]
    assert len(trained) == len(specs), [ts["key"] for ts in trained]  # each run executed once, for both clients
    a, b = (r.runs.drop(columns=["seconds", "cached"]) for r in results)
    assert a.equals(b)


def test_an_unreachable_scheduler_fails_within_seconds():
    start = time.monotonic()
    with pytest.raises(cluster.ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1 "):
        cluster.connect("tcp://127.0.0.1:1", timeout=2)
    assert time.monotonic() - start < 10


def test_a_missing_scheduler_file_is_named(tmp_path):
    with pytest.raises(cluster.ClusterError, match=r"scheduler.json: no such scheduler file"):
        cluster.connect(str(tmp_path / "scheduler.json"))


def test_a_scheduler_file_named_like_an_address_is_read_as_a_file(dask_cluster, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("node1:8786").write_text(json.dumps({"address": dask_cluster.scheduler_address}))
    client = cluster.connect("node1:8786", timeout=3)  # no host node1: read as an address, this would fail
    assert client.scheduler.address == dask_cluster.scheduler_address


def test_pdds_run_says_when_the_scheduler_is_unreachable(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pddslib", "run", "--model", "cltnet", "--epochs", "1", "--seeds", "1",
                        "--demo-scale", "0.05", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "o")],
                       env={**os.environ, "PDDS_CACHE": str(tmp_path / "cache")}, capture_output=True, text=True,
                       timeout=120, cwd=REPO)
    assert r.returncode == 1
    assert "pdds run: error: cannot reach the Dask scheduler at tcp://127.0.0.1:1" in r.stderr
    assert "Traceback" not in r.stderr


def test_workers_with_several_threads_are_refused(corpus, tmp_path):
    with _cluster(n_workers=1, threads_per_worker=2) as c:
        with pytest.raises(cluster.ClusterError, match=r"--nthreads 1.*\(2 threads\)"):
            run_specs(_specs(seeds=(0,))[:1], corpus, cache_dir=tmp_path / "runs", device="cpu", progress=False,
                      log=None, scheduler=c.scheduler_address)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_gpu_runs_ask_for_a_gpu_and_cpu_runs_do_not(tmp_path):
    with _cluster(n_workers=1, resources={"GPU": 1}) as c, distributed.Client(c, set_as_default=False) as client:
        assert cluster.resources_for("cuda", client) == {"GPU": 1}
        assert cluster.resources_for("cuda:1", client) == {"GPU": 1}
        assert cluster.resources_for("auto", client) == {"GPU": 1}  # some worker has a GPU
        assert cluster.resources_for("cpu", client) is None
    with _cluster(n_workers=1) as c, distributed.Client(c, set_as_default=False) as client:
        assert cluster.resources_for("auto", client) is None  # no GPU worker: each resolves auto itself
        assert cluster.resources_for("cuda", client) == {"GPU": 1}


def test_a_run_that_raises_is_reported_with_its_settings(dask_cluster, tmp_path):
    # too few clear samples for pdds
    tiny = load_corpus(str(demo_stores.write_demo_store(tmp_path / "tiny", scale=0.02, seed=0)))
    specs = [RunSpec.build("cltnet", "none", 0, max_epochs=1), RunSpec.build("cltnet", "pdds", 0, max_epochs=1)]
    with pytest.raises(cluster.ClusterError, match=r"1 of 2 run\(s\) failed.*\n  cltnet pdds\(sigma=1.*seed 0: "
                                                   r"ValueError: pdds: class"):
        run_specs(specs, tiny, cache_dir=tmp_path / "runs", device="cpu", progress=False, log=None,
                  scheduler=dask_cluster.scheduler_address)
    assert len(list((tmp_path / "runs").iterdir())) == 1  # the run that did not raise is cached
