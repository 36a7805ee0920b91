"""Concurrent runs: several independent runs of a sweep trained at once, in worker processes.

Small models leave most of a device idle: on a GPU one CLTNet run is bound by kernel launches,
not by arithmetic, and on a CPU one run does not scale across cores. Training several runs at
once keeps the device busy. Each run is still exactly itself: it seeds itself, builds its own
model, draws its own batches and is cached under its own key (the cache is write-once, so
workers never corrupt or mix it), so a sweep with ``jobs=4`` trains the same models as
``jobs=1``; only the thread count of a CPU run changes, which moves results by float noise at
most (``tests/test_parallel.py`` compares the two).

Workers are ``spawn``-ed processes (CUDA cannot be forked) that open the feature store once and
keep their in-memory feature banks between runs; the pool is kept for the life of the process,
so a notebook that runs several sweeps starts its workers once.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

#: Runs trained at once when ``jobs="auto"`` on a GPU (launch-bound small models; see the
#: rehearsal's concurrency measurement, ``benchmarks/rehearsal.py``).
GPU_JOBS = 4

_POOL: dict[str, Any] = {}


def cpu_count() -> int:
    """CPUs this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | str | None, device: str, n_runs: int) -> int:
    """How many runs to train at once.

    Parameters
    ----------
    jobs : int, "auto" or None
        A number: that many (at most ``n_runs``). ``"auto"``/None: one per CPU on a CPU
        (each run then uses one thread), :data:`GPU_JOBS` on a GPU.
    device : str
        The resolved device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).
    n_runs : int
        Runs left to train.
    """
    if jobs is None or jobs == "auto":
        want = cpu_count() if str(device).startswith("cpu") else GPU_JOBS
    else:
        try:
            want = int(jobs)
        except (TypeError, ValueError):
            raise ValueError(f"jobs must be a number >= 1 or 'auto', got {jobs!r}") from None
        if want < 1:
            raise ValueError(f"jobs must be a number >= 1 or 'auto', got {jobs!r}")
    return max(1, min(want, n_runs))


def threads_per_job(jobs: int, device: str) -> int:
    """Torch threads of each worker: the CPUs shared out on a CPU; 1 on a GPU (it only launches)."""
    if not str(device).startswith("cpu"):
        return 1
    return max(1, cpu_count() // max(1, jobs))


# -- the worker side -------------------------------------------------------------------------------
_CORPORA: dict[str, Any] = {}


def _die_with_parent() -> None:
    """Linux: a worker whose parent dies (a killed kernel, ``kill -9``) is sent SIGTERM, not left training.

    Set first thing in the worker; a parent that died before (while this worker started) is
    noticed by its pid, and the worker leaves at once.
    """
    import ctypes
    import multiprocessing
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux / glibc: the pool's own shutdown still applies
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # orphaned already
        os._exit(1)


def _init_worker(threads: int) -> None:
    import signal

    _die_with_parent()  # before anything slow (importing torch)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


def run_in_worker(run: Callable[..., tuple[dict, Any]], spec: Any, store: str, name: str, fingerprint: str,
                   options: dict[str, Any]) -> tuple[dict, Any]:
    """One run in a worker process (of this pool or of a Dask cluster): open the store (once per worker),
    check it is the sweep's, ``run`` it."""
    from ..features.store import FeatureStore
    from .corpus import Corpus

    corpus = _CORPORA.get(store)
    if corpus is None or corpus.key != fingerprint:
        corpus = Corpus(FeatureStore.open(store, validate=False), name)
        _CORPORA.clear()
        _CORPORA[store] = corpus
    if corpus.key != fingerprint:
        raise RuntimeError(f"{store}: the feature store changed while the sweep ran (fingerprint "
                           f"{corpus.key[:12]}, the sweep started with {fingerprint[:12]}); run it again")
    return run(spec, corpus, progress=False, **options)


# -- the parent side -------------------------------------------------------------------------------
def _pool(jobs: int, threads: int) -> ProcessPoolExecutor:
    import multiprocessing

    key = f"{jobs}x{threads}"
    if key not in _POOL:
        shutdown()
        _POOL[key] = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(threads,))
    return _POOL[key]


def shutdown() -> None:
    """Stop the kept worker pool (called at exit; a later sweep starts a new one)."""
    for pool in _POOL.values():
        pool.shutdown(wait=True, cancel_futures=True)
    _POOL.clear()


atexit.register(shutdown)


def run_concurrently(specs: Sequence[Any], corpus: Any, *, run: Callable[..., tuple[dict, Any]], jobs: int,
                     threads: int, options: dict[str, Any]) -> Iterator[tuple[int, dict, Any]]:
    """Train ``specs`` in ``jobs`` worker processes; yields ``(index, record, predictions)`` as each finishes.

    Parameters
    ----------
    specs : sequence of RunSpec
    corpus : pddslib.runs.corpus.Corpus
        Reopened in each worker from its store path; its fingerprint must not change meanwhile.
    run : callable
        What runs one job, ``run(spec, corpus, progress=False, **options) -> (record, predictions)``
        (the sweep passes :func:`pddslib.runs.one.run_one`); a module-level function, so that it
        reaches the spawned workers by name.
    jobs, threads : int
        Worker processes, and torch threads in each.
    options : dict
        Keyword arguments of :func:`pddslib.runs.one.run_one` (``cache_dir``, ``device``,
        ``save_model``, ``recompute``).

    An interrupt (or an error in a run) cancels the runs not started and stops the workers; runs
    already finished stay cached (each is published whole, or not at all).
    """
    pool = _pool(jobs, threads)
    store = str(corpus.store.path)
    pending: dict[Future, int] = {}
    try:
        for k, spec in enumerate(specs):
            pending[pool.submit(run_in_worker, run, spec, store, corpus.name, corpus.key, options)] = k
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                k = pending.pop(fut)
                record, preds = fut.result()
                yield k, record, preds
    except BaseException:
        for fut in pending:
            fut.cancel()
        _terminate(pool)
        raise


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now (an interrupt or a failed run): they may be mid-run."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
    for key in [k for k, p in _POOL.items() if p is pool]:
        del _POOL[key]


__all__ = ["GPU_JOBS", "cpu_count", "resolve_jobs", "run_concurrently", "run_in_worker", "shutdown",
           "threads_per_job"]
