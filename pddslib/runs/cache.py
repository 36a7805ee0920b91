"""The run cache: content keys of runs, and reading and publishing their folders.

A run's key hashes its settings (:meth:`pddslib.config.RunSpec.identity`), the store's content
fingerprint and :data:`CACHE_VERSION`; nothing trained enters it, so keys are the same on every
machine.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import RunSpec
from ..util.atomic import publish_once, remove_dir
from ..util.errors import PddsError
from ..util.hashing import config_hash
from ..util.locations import cache_path
from .corpus import (
    Corpus,
)
from .saved_models import damage, has_model, write_model

#: Bump when a change to the code changes results, so old cached runs are not reused.
CACHE_VERSION = 2


#: What a cached run record must hold to be reused.
RECORD_KEYS = ("model", "strategy", "seed", "wa", "ua", "confusion", "n_train", "epochs", "key")


class RunCacheError(ValueError, PddsError):
    """A run-cache folder or an output folder cannot be used (the message names it)."""


def run_key(spec: RunSpec, corpus: Corpus) -> str:
    """Hash of a run's full configuration (spec, store content, cache version)."""
    return config_hash({"spec": spec.identity(), "corpus": corpus.key, "cache_version": CACHE_VERSION})


def run_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The run cache folder: ``cache_dir`` when given, else :func:`default_run_cache`."""
    return Path(cache_dir) if cache_dir is not None else default_run_cache()


def default_run_cache() -> Path:
    """``$PDDS_CACHE/runs``."""
    return cache_path("runs")


def check_writable(folder: str | os.PathLike, what: str) -> Path:
    """Create ``folder`` if needed and check that a file can be written there (before any training)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".pdds-write-test.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise RunCacheError(f"{folder}: the {what} folder is not writable ({err.strerror or err})") from None
    return folder


# -- the cache --------------------------------------------------------------------------------
def read_cached(folder: Path, key: str) -> tuple[dict, pd.DataFrame] | None:
    """A finished run from the cache; None when absent; a damaged entry is removed (and said)."""
    rec_path, pred_path = folder / "run.json", folder / "predictions.csv"
    if not folder.exists():
        return None
    try:
        record = json.loads(rec_path.read_text())
        if not isinstance(record, dict):
            raise ValueError("not a JSON object")
        missing = [k for k in RECORD_KEYS if k not in record]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        if record["key"] != key:
            raise ValueError(f"key {record['key']!r}, expected {key!r}")
        if not pred_path.read_bytes().endswith(b"\n"):  # to_csv ends every row with one
            raise ValueError(f"{pred_path.name}: truncated (its last row is incomplete)")
        preds = pd.read_csv(pred_path)
        if "utt_id" not in preds.columns or len(preds) != record.get("n_test", len(preds)):
            raise ValueError(f"{pred_path.name}: not the predictions of this run")
        problem = damage(folder)
        if problem:
            raise ValueError(problem)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        warnings.warn(f"{folder}: damaged cached run ({err}); it is removed and the run computed again",
                      stacklevel=3)
        remove_dir(folder)
        return None
    record.setdefault("fold", None)  # runs cached before folds and validation existed
    record.setdefault("n_val", 0)
    record["cached"] = True
    return record, preds


def write_cached(folder: Path, record: dict, preds: pd.DataFrame, model: Any = None,
                  arch: dict | None = None) -> None:
    """Publish a run folder once: run.json, predictions.csv and, given ``model``, its weights."""
    def build(tmp: Path) -> None:
        (tmp / "run.json").write_text(json.dumps(record, indent=1, default=float))
        preds.to_csv(tmp / "predictions.csv", index=False)
        if model is not None:
            write_model(tmp, model, arch)

    publish_once(folder, build)


def training_lock(cache: Path, key: str, what: str = ""):
    """The lock held while run ``key`` is trained and published, so that no two processes train it at once.

    A ``filelock`` lock file ``KEY.lock`` in ``.NAME.locks`` beside the cache folder ``NAME`` (an OS ``flock``: released
    when its holder dies, even by ``kill -9``). Processes sharing the folder, on one host or on
    several hosts of a shared filesystem whose ``flock`` is coherent across clients (NFSv4, or
    NFSv3 with lockd; Lustre mounted with ``-o flock``; GPFS; BeeGFS), wait for each other: the
    second finds the run cached when the first is done. A process that has to wait says so once.
    """
    import contextlib
    import sys

    from filelock import FileLock, Timeout

    locks = cache.with_name(f".{cache.name}.locks")  # beside the cache: its folder holds runs only
    locks.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(locks / f"{key}.lock"))

    @contextlib.contextmanager
    def held():
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"{what or key}: another process is training this run; waiting for it "
                  f"({lock.lock_file})", file=sys.stderr, flush=True)
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    return held()


def cached_run(spec: RunSpec, corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
               save_model: bool = True) -> tuple[dict, pd.DataFrame] | None:
    """The cached result of a run (as :func:`run_one` returns it), or None when it must be trained.

    A damaged entry is removed, with a warning naming it. With ``save_model``, a cached run
    without weights is returned with a warning that says how to keep them.
    """
    cache = run_cache_dir(cache_dir)
    key = run_key(spec, corpus)
    return cached_at(cache / key, key, spec, save_model)


def cached_at(folder: Path, key: str, spec: RunSpec, save_model: bool) -> tuple[dict, pd.DataFrame] | None:
    """:func:`cached_run` for a run whose key and folder are known."""
    hit = read_cached(folder, key)
    if hit is not None and save_model and not has_model(folder):
        warnings.warn(f"{folder}: cached run {spec.describe()} has no saved model (trained with "
                      f"--no-save-model or by an older pddslib); its numbers are reused. To keep its weights, "
                      f"run again with --recompute (from Python: recompute=True)", stacklevel=3)
    return hit
