"""Sweeps: many runs, cached ones read, the others trained one at a time or in worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunSettings, RunSpec
from .cache import (
    cached_run,
    check_writable,
    run_cache_dir,
)
from .corpus import (
    Corpus,
    check_model_fits,
)
from .metrics import soft_metrics_of
from .one import run_one
from .splits import check_loso


# -- sweeps ----------------------------------------------------------------------------------------
@dataclass
class ExperimentResult:
    """Runs of one or more specs: a tidy table and the predictions of each run."""

    runs: pd.DataFrame
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary(self, by: Sequence[str] = ("model", "strategy")) -> pd.DataFrame:
        """Mean and standard deviation (over seeds) of WA and UA per group."""
        return summarise(self.runs, by)


#: The leading columns of the runs table (the others follow them). ``nll, brier, ece, kl_votes``: the soft
#: metrics (pddslib.runs.metrics.soft_metrics) of a run's predictions against the store's vote distributions.
RUN_COLUMNS = ["model", "strategy", "fold", "seed", "sigma", "normalize", "p", "clear_p", "level", "align",
               "wa", "ua", "nll", "brier", "ece", "kl_votes",
               "n_train", "n_new", "n_val", "epochs", "seconds", "device", "cached", "key"]


def _log_line(k: int, n: int, spec: RunSpec, rec: dict) -> str:
    src = "cached" if rec["cached"] else f"{rec['seconds']:.0f} s, {rec['epochs']} ep"
    return (f"[{k}/{n}] {spec.describe()}: WA {100 * rec['wa']:.1f} UA {100 * rec['ua']:.1f} "
            f"(n={rec['n_train']}, {src})")


def run_specs(specs: Iterable[RunSpec], corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
              device: str = "auto", progress: bool = True, log: Callable[[str], Any] | None = print,
              save_model: bool = True, recompute: bool = False, jobs: int | str | None = 1,
              scheduler: Any = None) -> ExperimentResult:
    """Run (or load) every spec, one line per finished run; returns the tidy table.

    The cache folder is checked for writing before the first run, and a leave-one-session-out
    spec's fold against the store's sessions. ``save_model``, ``recompute``: see :func:`run_one`.
    Each run's record gains ``nll, brier, ece, kl_votes`` (:func:`pddslib.runs.metrics.soft_metrics_of`
    of its predictions and ``corpus.store``), whether it was trained or read from the cache.

    Parameters
    ----------
    jobs : int, "auto" or None
        Runs trained at once (:mod:`pddslib.runs.workers`): 1 trains them one after the other in this
        process; more trains them in worker processes (``"auto"``: one per CPU on a CPU, a few on
        a GPU). Cached runs are read here either way. Not part of any run's identity: each run
        trains the same model whatever ``jobs`` is (on a CPU, up to the float noise of its thread count).
    scheduler : str, distributed.Client or None
        A Dask cluster (an address ``tcp://host:8786``, a scheduler file, or a client; needs
        ``pddslib[cluster]``): the runs not cached are its tasks (:mod:`pddslib.runs.cluster`), and
        ``jobs`` is ignored. The run cache and the store must be on a filesystem the workers share.
        None: this machine.
    """
    cache = check_writable(run_cache_dir(cache_dir), "run cache")
    specs = list(specs)
    if any(s.fold is not None for s in specs):
        check_loso(corpus.store.manifest, str(corpus.store.path))
    for model in dict.fromkeys(s.model for s in specs):  # before any run: an audio-only store, a text model
        check_model_fits(model, corpus.store)
    results: dict[int, tuple[dict, pd.DataFrame]] = {}
    todo = []
    for k, spec in enumerate(specs):
        hit = None if recompute else cached_run(spec, corpus, cache_dir=cache, save_model=save_model)
        if hit is None:
            todo.append(k)
        else:
            results[k] = hit
    if log is not None:  # numbered in the order the lines appear: the cached runs, then each as it finishes
        for done, k in enumerate(sorted(results), start=1):
            log(_log_line(done, len(specs), specs[k], results[k][0]))
    done = len(results)
    options = dict(cache_dir=cache, device=device, recompute=recompute, save_model=save_model)
    for k, rec, pr in _train(todo, specs, corpus, jobs, progress, options, scheduler):
        results[k] = rec, pr
        done += 1
        if log is not None:
            log(_log_line(done, len(specs), specs[k], rec))
    # the soft metrics are computed from the predictions, for cached runs too (their run.json predates them)
    records = [{**results[k][0], **soft_metrics_of(results[k][1], corpus.store)} for k in range(len(specs))]
    preds = {results[k][0]["key"]: results[k][1] for k in range(len(specs))}
    runs = pd.DataFrame(records)
    cols = [c for c in RUN_COLUMNS if c in runs.columns] + [c for c in runs.columns if c not in RUN_COLUMNS]
    return ExperimentResult(runs[cols] if len(runs) else runs, preds)


def _train(todo: list[int], specs: list[RunSpec], corpus: Corpus, jobs: int | str | None, progress: bool,
           options: dict[str, Any], scheduler: Any = None):
    """Train the runs ``specs[k]`` for ``k`` in ``todo``: here one by one, in worker processes, or on a Dask cluster."""
    if not todo:
        return
    if scheduler is not None:
        from .cache import run_key
        from .cluster import run_on_cluster

        remote = {**options, "cache_dir": str(Path(options["cache_dir"]).resolve())}  # as the workers see it
        for i, rec, pr in run_on_cluster([specs[k] for k in todo], corpus, [run_key(specs[k], corpus) for k in todo],
                                         run=run_one, scheduler=scheduler, options=remote, progress=progress):
            yield todo[i], rec, pr
        return
    from ..util.device import resolve_device
    from .workers import resolve_jobs, run_concurrently, threads_per_job

    dev = str(resolve_device(options["device"]))
    n_jobs = resolve_jobs(jobs, dev, len(todo))
    if n_jobs == 1:
        for k in todo:
            yield (k, *run_one(specs[k], corpus, progress=progress, **options))
        return
    for i, rec, pr in run_concurrently([specs[k] for k in todo], corpus, run=run_one, jobs=n_jobs,
                                       threads=threads_per_job(n_jobs, dev), options={**options, "device": dev}):
        yield todo[i], rec, pr


def run_settings(settings: RunSettings, corpus: Corpus, models: Sequence[str], strategies: Sequence[str],
                 log: Callable[[str], Any] | None = print, **extra: Any) -> ExperimentResult:
    """Every (model, strategy, fold, seed) of a sweep with the corpus's defaults (``settings.folds``)."""
    specs = [corpus.spec(settings, m, s, seed, fold=fold, **extra) for m in models for s in strategies
             for fold in settings.fold_values for seed in settings.seed_values]
    return run_specs_with(settings, specs, corpus, log)


def run_specs_with(settings: RunSettings, specs: Iterable[RunSpec], corpus: Corpus,
                   log: Callable[[str], Any] | None = print) -> ExperimentResult:
    """:func:`run_specs` with the execution choices of ``settings`` (device, cache, jobs, ...)."""
    return run_specs(specs, corpus, cache_dir=settings.cache_dir, device=settings.device,
                     progress=settings.progress, log=log, save_model=settings.save_model,
                     recompute=settings.recompute, jobs=settings.jobs, scheduler=settings.scheduler)


def summarise(runs: pd.DataFrame, by: Sequence[str] = ("model", "strategy")) -> pd.DataFrame:
    """Mean and std of WA and UA (fractions) over the runs of each group, plus run counts and training-set size.

    With leave-one-session-out folds (a ``fold`` column with values), mean and std are over every
    (fold, seed) run of the group, ``n_folds`` counts the folds and ``n_train`` is the mean over
    the runs (the folds' training sets differ in size), and the two variances are also given apart:
    ``wa_fold_sd``/``ua_fold_sd`` (over folds, of each fold's mean over seeds) and
    ``wa_seed_sd``/``ua_seed_sd`` (over seeds within a fold, pooled); otherwise over the seeds.
    """
    by = [b for b in by if b in runs.columns]
    g = runs.groupby(by, sort=False)
    folds = "fold" in runs.columns and runs["fold"].notna().any()
    out = pd.DataFrame({
        "wa_mean": g["wa"].mean(), "wa_std": g["wa"].std(ddof=1),
        "ua_mean": g["ua"].mean(), "ua_std": g["ua"].std(ddof=1),
        "n_seeds": g["seed"].nunique(), "n_train": g["n_train"].mean().round() if folds else g["n_train"].first(),
    })
    if folds:
        out["n_folds"] = g["fold"].nunique()
        out["n_runs"] = g["wa"].size()
        out = out.join(_fold_and_seed_sd(runs, by))
    return out.reset_index()


def _fold_and_seed_sd(runs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """LOSO: the two variances apart, per group and metric. ``<m>_fold_sd``: SD over folds of each
    fold's mean over seeds (which test session: the speakers and their dialogues); ``<m>_seed_sd``:
    the root of the mean over folds of the variance over seeds within a fold (training randomness)."""
    cols = {}
    for m in ("wa", "ua"):
        per_fold = runs.groupby([*by, "fold"], sort=False)[m]
        means, variances = per_fold.mean(), per_fold.var(ddof=1)
        cols[f"{m}_fold_sd"] = means.groupby(level=list(range(len(by))), sort=False).std(ddof=1)
        cols[f"{m}_seed_sd"] = np.sqrt(variances.groupby(level=list(range(len(by))), sort=False).mean())
    return pd.DataFrame(cols)
