"""Sweeps on a Dask cluster against the local worker pool: wall time, speed-up, overhead per job.

Issue 20 asks for the wall time of a 16-job demo sweep with 1, 2 and 4 local Dask workers
against ``--jobs`` with the same numbers, the scheduler's overhead per job (goal: under 50 ms)
and the speed-up. Each measurement trains the same 16 runs (CLTNet, without and with PDDS,
``--seeds`` seeds, ``--epochs`` epochs, on the demo corpus at ``--scale``) into a fresh run cache:

- ``jobs N``: :func:`pddslib.runs.sweep.run_specs` with ``jobs=N`` (worker processes of this
  machine, one thread each; the pool's start-up included, as in a fresh ``pdds run``);
- ``dask N``: the same sweep with ``scheduler=`` a ``distributed.LocalCluster`` of N workers with
  one thread each, started beforehand (its start-up is reported apart, as a cluster is there
  before the sweep).

The overhead per job is what a run costs on the cluster beyond its own work: the same 16 runs,
already in the run cache, are submitted as tasks (each task then only reads its cached entry on
the worker), and the sweep's wall time divided by 16 is the round trip of one job through the
scheduler, reading the entry included (an upper bound of the scheduler's own share).

Each setting is timed ``--repeats`` times (median kept). Run it on a quiet machine.

Usage::

    PYTHONPATH=. python benchmarks/bench_cluster.py --json benchmarks/results/cluster-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_host import cpu_name


def _specs(seeds: int, epochs: int):
    from pddslib.config import RunSpec

    return [RunSpec.build("cltnet", s, seed, max_epochs=epochs) for s in ("none", "pdds") for seed in range(seeds)]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", default="1,2,4", help="worker counts (default %(default)s)")
    ap.add_argument("--seeds", type=int, default=8, help="seeds per strategy: 2 x seeds jobs (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per run (default %(default)s)")
    ap.add_argument("--scale", type=float, default=0.1, help="demo corpus scale (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=3, help="timings per setting, median kept (default %(default)s)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    import distributed

    from pddslib.features import demo_stores
    from pddslib.runs import workers
    from pddslib.runs.cluster import close
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.sweep import run_specs

    load_at_start = os.getloadavg()[0]
    counts = [int(n) for n in args.workers.split(",")]
    specs = _specs(args.seeds, args.epochs)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    corpus = load_corpus(str(demo_stores.write_demo_store(tmp / "store", scale=args.scale, seed=0)))
    fresh = iter(range(10**6))

    def sweep(**kw):
        run_specs(specs, corpus, cache_dir=tmp / f"runs{next(fresh)}", device="cpu", progress=False, log=None, **kw)

    rows = []
    for n in counts:
        local = []
        for _ in range(args.repeats):
            workers.shutdown()  # a cold pool, as a fresh `pdds run --jobs N`
            local.append(_timed(lambda n=n: sweep(jobs=n)))
        workers.shutdown()
        start = time.perf_counter()
        with distributed.LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=":0") as cl, \
                distributed.Client(cl, set_as_default=False) as client:
            started = time.perf_counter() - start
            remote = [_timed(lambda: sweep(scheduler=client)) for _ in range(args.repeats)]
            cached = tmp / "runs-cached"
            run_specs(specs, corpus, cache_dir=cached, device="cpu", progress=False, log=None, scheduler=client)
            from pddslib.runs.cache import run_key
            from pddslib.runs.cluster import run_on_cluster
            from pddslib.runs.one import run_one

            keys = [run_key(s, corpus) for s in specs]
            options = {"cache_dir": str(cached), "device": "cpu", "recompute": False, "save_model": True}

            def round_trip(keys=keys, options=options):
                # fresh task keys each time (a suffix), so the scheduler runs them rather than reusing results
                tag = next(fresh)
                for _ in run_on_cluster(specs, corpus, [f"{k}-bench{tag}" for k in keys], run=run_one,
                                        scheduler=client, options=options, progress=False):
                    pass

            round_trip()  # every worker has opened the store once
            per_job = [_timed(round_trip) / len(specs) for _ in range(args.repeats)]
        close()
        row = {"workers": n, "jobs_s": statistics.median(local), "dask_s": statistics.median(remote),
               "dask_start_s": round(started, 2), "overhead_per_job_ms": 1000 * statistics.median(per_job),
               "jobs_all_s": local, "dask_all_s": remote}
        rows.append(row)
        print(f"{n} worker(s): --jobs {row['jobs_s']:.1f} s, dask {row['dask_s']:.1f} s "
              f"(cluster start {started:.1f} s), overhead {row['overhead_per_job_ms']:.1f} ms/job", flush=True)
    base = next(r for r in rows if r["workers"] == counts[0])
    for r in rows:
        r["dask_speedup_vs_1"] = base["dask_s"] / r["dask_s"]
        r["jobs_speedup_vs_1"] = base["jobs_s"] / r["jobs_s"]
    out = {"what": f"{len(specs)}-job demo sweep (cltnet none/pdds x {args.seeds} seeds, {args.epochs} epoch(s), "
                   f"scale {args.scale}), median of {args.repeats}",
           "machine": {"cpu": cpu_name(), "cpus": os.cpu_count(),
                       "load_at_start": load_at_start, "load_at_end": os.getloadavg()[0]},
           "date": datetime.now(UTC).isoformat(timespec="seconds"), "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return out


if __name__ == "__main__":
    main()
