"""Sweeps on a Dask cluster: every run one Dask task, the shared run cache where workers meet.

The engine is Dask distributed (workers, resources, retries, a dashboard); nothing here
schedules. Each task is :func:`pddslib.runs.one.run_one` on one worker: it looks its run up in
the run cache (a folder on a filesystem every worker and the client share), trains it when
missing under the run's cross-host lock (:func:`pddslib.runs.cache.training_lock`) and
publishes it whole. So a sweep that dies resumes from what finished, and two clients never train
one run at once: on one cluster the task key is the run's content key, so the scheduler runs it
once for both; across clusters the lock makes the second wait and read.

Workers read the feature store from its (shared) path and keep it open between tasks; only the
run's settings go out and its record and predictions come back through the scheduler.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..util.errors import PddsError

#: Dask resource a GPU run asks for: a worker started with ``--resources GPU=1`` runs one at a time.
GPU_RESOURCE = "GPU"

#: Retries of a task that raised (a worker that dies mid-task is re-run by the scheduler itself,
#: up to ``distributed.scheduler.allowed-failures`` times, default 3).
RETRIES = 1

#: Seconds to wait for the scheduler before giving up.
CONNECT_TIMEOUT = 5.0

_CLIENTS: dict[str, Any] = {}


class ClusterError(RuntimeError, PddsError):
    """The Dask scheduler cannot be reached, or runs of a cluster sweep failed."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError("sweeps on a Dask cluster need Dask distributed: pip install 'pddslib[cluster]'") from None
    return distributed


def connect(scheduler: Any, timeout: float = CONNECT_TIMEOUT):
    """A Dask client of the scheduler, kept for the life of the process (one per address).

    Parameters
    ----------
    scheduler : str or distributed.Client
        An address (``tcp://host:8786``), the path of a scheduler file (``dask scheduler
        --scheduler-file``, what SLURM set-ups use), or a client.
    timeout : float
        Seconds to wait for the scheduler.

    Raises
    ------
    ClusterError
        When the scheduler does not answer within ``timeout`` (naming the address), or the
        scheduler file does not exist.
    """
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        return scheduler
    where = str(scheduler)
    if where in _CLIENTS and _CLIENTS[where].status == "running":
        return _CLIENTS[where]
    # an existing file is a scheduler file even when its name reads like host:port
    as_file = Path(where).is_file() or ("://" not in where and not _looks_like_address(where))
    if as_file and not Path(where).is_file():
        raise ClusterError(f"{where}: no such scheduler file (expected the JSON file written by "
                           f"`dask scheduler --scheduler-file {where}`, or an address such as tcp://host:8786)")
    try:
        client = (distributed.Client(scheduler_file=where, timeout=f"{timeout}s", set_as_default=False) if as_file
                  else distributed.Client(where, timeout=f"{timeout}s", set_as_default=False))
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {where} within {timeout:g} s ({e}); start one "
                           f"with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`") from None
    print(f"dask: {client.scheduler.address}, dashboard {client.dashboard_link}", file=sys.stderr, flush=True)
    _CLIENTS[where] = client
    return client


def _looks_like_address(text: str) -> bool:
    """``host:8786`` (no scheme) is an address unless such a file exists; anything else without ``://`` is a
    scheduler file."""
    host, _, port = text.rpartition(":")
    return bool(host) and port.isdigit() and "/" not in text


def close() -> None:
    """Close the kept clients (called at exit)."""
    for client in _CLIENTS.values():
        try:
            client.close()
        except Exception:  # pragma: no cover - a scheduler gone already
            pass
    _CLIENTS.clear()


atexit.register(close)


def resources_for(device: str, client: Any) -> dict[str, int] | None:
    """What one run asks of a worker: ``{"GPU": 1}`` for a CUDA run, nothing for a CPU run.

    ``device="auto"`` asks for a GPU when some worker of the cluster declares one (then every run
    goes to GPU workers, one at a time each), and for nothing otherwise (each worker resolves
    ``auto`` itself).
    """
    device = str(device)
    if device.startswith("cuda"):
        return {GPU_RESOURCE: 1}
    if device == "auto":
        workers = client.scheduler_info().get("workers", {}).values()
        if any(w.get("resources", {}).get(GPU_RESOURCE) for w in workers):
            return {GPU_RESOURCE: 1}
    return None


def run_on_cluster(specs: Sequence[Any], corpus: Any, keys: Sequence[str], *, run: Callable[..., tuple[dict, Any]],
                   scheduler: Any, options: dict[str, Any], progress: bool = True,
                   ) -> Iterator[tuple[int, dict, Any]]:
    """Train ``specs`` as tasks of the Dask cluster ``scheduler``; yields ``(index, record, predictions)`` as each ends.

    Parameters
    ----------
    specs : sequence of RunSpec
    corpus : pddslib.runs.corpus.Corpus
        Reopened on each worker from its store path (which the workers must see); its
        fingerprint must not change meanwhile.
    keys : sequence of str
        The runs' content keys (:func:`pddslib.runs.cache.run_key`): the tasks' Dask keys, so
        that the scheduler runs one run once for every client that asks for it.
    run : callable
        What runs one job (the sweep passes :func:`pddslib.runs.one.run_one`).
    scheduler : str or distributed.Client
        See :func:`connect`.
    options : dict
        Keyword arguments of ``run`` (``cache_dir``, which the workers must see, ``device``, ...).
    progress : bool
        One bar for the sweep: done/total, running, failed.

    Raises
    ------
    ClusterError
        After every other run has ended, when some failed: how many, and each one's settings and error.
    """
    distributed = _distributed()
    client = connect(scheduler)
    check_workers(client)
    resources = resources_for(options.get("device", "auto"), client)
    store = str(Path(corpus.store.path).resolve())
    suffix = "-recompute" if options.get("recompute") else ""
    futures = {}
    for k, (spec, key) in enumerate(zip(specs, keys)):
        fut = client.submit(_task, run, spec, store, corpus.name, corpus.key, options,
                            key=f"pdds-run-{key}{suffix}", retries=RETRIES, resources=resources, pure=False)
        futures.setdefault(fut.key, (fut, []))[1].append(k)
    bar = _Bar(len(specs), progress)
    failed: list[str] = []
    try:
        pending = [fut for fut, _ in futures.values()]
        while pending:
            try:  # wake every second to redraw the bar's running count
                with client.as_current():  # the client is not made the process's default
                    done, rest = distributed.wait(pending, timeout=1.0 if progress else None,
                                                  return_when="FIRST_COMPLETED")
            except TimeoutError:
                bar.running(_running(client, pending))
                continue
            pending = list(rest)
            for fut in done:
                index = futures[fut.key][1]
                if fut.status == "finished":
                    record, preds = fut.result()
                    for k in index:
                        bar.step(failed=False)
                        yield k, record, preds
                else:  # raised (after its retries), or its worker died too often (KilledWorker)
                    err = fut.exception()
                    for k in index:
                        bar.step(failed=True)
                        failed.append(f"{specs[k].describe()}: {type(err).__name__}: {err}")
            bar.running(_running(client, pending) if progress else 0)
    except BaseException:
        for fut, _ in futures.values():
            fut.cancel()
        raise
    finally:
        bar.close()
    if failed:
        raise ClusterError(f"{len(failed)} of {len(specs)} run(s) failed on the cluster (the others are cached):\n  "
                           + "\n  ".join(failed))


def check_workers(client: Any) -> None:
    """Every worker must run one task at a time (``--nthreads 1``).

    Raises :class:`ClusterError` naming those that do not.

    Why: a run seeds torch's process-wide generators, so two runs in threads of one worker
    would draw from each other's streams and neither would be reproducible.
    """
    workers = client.scheduler_info().get("workers", {})
    wide = sorted(f"{addr} ({w.get('nthreads')} threads)" for addr, w in workers.items() if w.get("nthreads", 1) > 1)
    if wide:
        raise ClusterError("each Dask worker must run one run at a time (a run seeds torch's process-wide "
                           "generators); start workers with `dask worker ADDRESS --nthreads 1` (LocalCluster: "
                           f"threads_per_worker=1); these have more: {', '.join(wide)}")


def _task(run: Callable[..., tuple[dict, Any]], *args: Any) -> tuple[dict, Any]:
    """One run as a Dask task on a worker (a worker that joined with several threads refuses it)."""
    from distributed import get_worker

    from .workers import run_in_worker

    nthreads = get_worker().state.nthreads
    if nthreads > 1:
        raise ClusterError(f"worker {get_worker().address} has {nthreads} threads; start it with --nthreads 1 "
                           "(a run seeds torch's process-wide generators)")
    return run_in_worker(run, *args)


def _running(client: Any, pending: Sequence[Any]) -> int:
    """How many of ``pending`` a worker is executing now.

    The scheduler's ``processing`` also lists tasks queued on a worker; a worker runs one at a
    time (:func:`check_workers`), so each counts once at most.
    """
    keys = {f.key for f in pending}
    try:
        processing = client.processing()
    except Exception:  # pragma: no cover - the scheduler went away; the futures will say so
        return 0
    return sum(1 for tasks in processing.values() if any(key in keys for key in tasks))


class _Bar:
    """The sweep's one progress bar (tqdm on stderr), or nothing."""

    def __init__(self, total: int, show: bool) -> None:
        self.failed = 0
        self.bar = None
        if show and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="cluster sweep", unit="run", file=sys.stderr)

    def step(self, failed: bool) -> None:
        self.failed += failed
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=self.failed, refresh=False)

    def running(self, n: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix(running=n, failed=self.failed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


__all__ = ["ClusterError", "GPU_RESOURCE", "RETRIES", "check_workers", "close", "connect", "resources_for",
           "run_on_cluster"]
