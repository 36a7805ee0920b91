"""One run: fit the sampler on the training rows, train, predict the test rows, cache the result.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..config import RunSpec
from ..features.store import FeatureStore
from ..util.atomic import remove_dir
from .cache import (
    cached_at,
    run_cache_dir,
    run_key,
    training_lock,
    write_cached,
)
from .corpus import (
    Corpus,
    check_model_fits,
)
from .metrics import predictions_frame
from .saved_models import architecture, encoders_of
from .splits import RunSplit, run_split
from .training import feature_banks


# -- one run ------------------------------------------------------------------------------------
def fit_sampler(spec: RunSpec, store: FeatureStore, train_rows: np.ndarray | None = None):
    """The spec's resampler fitted on the run's training rows (its provenance is in store rows).

    ``train_rows`` default: those of :func:`pddslib.runs.splits.run_split` (the store's training rows,
    or the fold's, less any validation rows).
    """
    from ..pdds.registry import make_resampler

    if train_rows is None:
        train_rows = run_split(spec, store).train
    y = store.label_distributions()[train_rows]
    sampler = make_resampler(spec.strategy, classes=store.classes, random_state=spec.seed, **spec.sampler_params)
    return sampler.fit(y, cells=store.cells()[train_rows]), train_rows


def training_targets(sampler: Any, consensus: np.ndarray, targets: str = "votes") -> np.ndarray:
    """The targets of a fitted sampler's rows under ``TrainConfig.targets``.

    ``"votes"``: the sampler's label distributions as they are (vote distributions for the
    original rows, Eq. (3) for mixed rows). ``"onehot"``: the original rows (and copies of them,
    ``oversample``) get the one-hot of their consensus label; mixed rows keep Eq. (3)'s labels.

    Parameters
    ----------
    sampler : fitted resampler
    consensus : numpy.ndarray of int, shape (n_original,)
        Consensus class of each row the sampler was fitted on.
    """
    y = sampler.y_resampled_
    if targets == "votes":
        return y
    if targets != "onehot":
        raise ValueError(f"targets must be 'votes' or 'onehot', got {targets!r}")
    src = sampler.sample_indices_
    original = (src[:, 0] == src[:, 1]) & (sampler.mix_weights_ >= 1.0)  # an utterance, not a mix
    y = np.array(y, dtype=np.float64, copy=True)
    y[original] = np.eye(y.shape[1])[np.asarray(consensus)[src[original, 0]]]
    return y


def _progress_bar(spec: RunSpec, progress: bool) -> tuple[Any, Callable[[int, float], None]]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=spec.train.max_epochs, desc=spec.describe(), leave=False, unit="epoch", file=sys.stderr)

    def on_epoch(epoch: int, loss: float) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")

    return bar, on_epoch


def _train_and_predict(spec: RunSpec, store: FeatureStore, sampler: Any, train_rows: np.ndarray, dev: Any,
                       progress: bool, split: RunSplit, arch: dict) -> tuple[Any, np.ndarray, float, Any]:
    """Train a fresh model of ``arch`` on the sampler's rows; predict the test rows.

    Returns (trained, probs, seconds, model); with validation rows, ``model`` is the best epoch's.
    """
    from .saved_models import build_from
    from .training import predict, seed_everything, train_model

    check_model_fits(spec.model, store)
    banks = feature_banks(store, dev)
    seed_everything(spec.seed)
    model = build_from(arch).to(dev)  # the model that pddslib.runs.saved_models rebuilds from model.json
    bar, on_epoch = _progress_bar(spec, progress)
    t0 = time.perf_counter()
    validation = (split.val, store.label_distributions()[split.val]) if len(split.val) else None
    try:
        targets = training_targets(sampler, store.consensus_indices()[train_rows], spec.train.targets)
        trained = train_model(model, banks, train_rows[sampler.sample_indices_], sampler.mix_weights_,
                              targets, spec.train, seed=spec.seed, align=sampler.align, on_epoch=on_epoch,
                              validation=validation)
    finally:
        if bar is not None:
            bar.close()
    probs = predict(model, banks, split.test, batch_size=spec.train.eval_batch_size, amp=spec.train.amp)
    return trained, probs, time.perf_counter() - t0, model


def _record(spec: RunSpec, corpus: Corpus, key: str, sampler: Any, trained: Any, metrics: dict,
            seconds: float, dev: Any, split: RunSplit) -> dict[str, Any]:
    import torch

    n_train, n_orig = len(sampler.sample_indices_), int(sampler.n_original_)
    validated = {"best_epoch": trained.best_epoch, "val_losses": trained.val_losses} if len(split.val) else {}
    return {
        "model": spec.model, "strategy": spec.strategy, "seed": spec.seed, "fold": spec.fold, **spec.sampler_params,
        "wa": metrics["wa"], "ua": metrics["ua"],
        **{f"recall_{c}": r for c, r in metrics["recall"].items()},
        "confusion": metrics["confusion"],
        "n_train": int(n_train), "n_new": int(n_train - n_orig), "n_val": int(len(split.val)),
        "n_test": int(len(split.test)),
        "epochs": trained.epochs, "stopped_early": trained.stopped_early, "losses": trained.losses, **validated,
        "seconds": round(seconds, 3), "device": str(dev), "torch": torch.__version__,
        "corpus": corpus.name, "store": str(corpus.store.path), "store_fingerprint": corpus.key,
        "encoders": encoders_of(corpus.store), "key": key, "spec": spec.identity(),
    }


def run_one(spec: RunSpec, corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
            device: str = "auto", progress: bool = False, recompute: bool = False,
            save_model: bool = True) -> tuple[dict, pd.DataFrame]:
    """Train and evaluate one run, or load it from the cache.

    Parameters
    ----------
    save_model : bool
        Keep the trained weights in the run's cache folder (``model.safetensors``; see
        :mod:`pddslib.runs.saved_models`). Not part of the key: a cached run is reused either way; when
        weights are wanted and the cached run has none, a warning says how to keep them
        (``recompute=True`` trains it again and replaces the entry).

    Returns
    -------
    record : dict
        ``model, strategy, seed, fold, <sampler params>, wa, ua, recall_<c>, confusion, n_train,
        n_new, n_val, n_test, epochs, seconds, losses, device, key, store_fingerprint, cached``
        (``best_epoch`` and ``val_losses`` with a validation split).
    predictions : pandas.DataFrame
        One row per test utterance: ``utt_id, consensus, pred, p_<c>...``.
    """
    from ..util.device import resolve_device
    from .metrics import evaluate

    cache = run_cache_dir(cache_dir)
    key = run_key(spec, corpus)
    folder = cache / key
    if not recompute:
        hit = cached_at(folder, key, spec, save_model)
        if hit is not None:
            return hit
    with training_lock(cache, key, spec.describe()):  # one trainer per run, across processes sharing the cache
        if recompute:
            remove_dir(folder)
        else:  # another process may have trained it while this one waited for the lock
            hit = cached_at(folder, key, spec, save_model)
            if hit is not None:
                return hit
        return _train_and_publish(spec, corpus, key, folder, resolve_device(device), progress, save_model,
                                  evaluate)


def _train_and_publish(spec: RunSpec, corpus: Corpus, key: str, folder: Any, dev: Any, progress: bool,
                       save_model: bool, evaluate: Callable[..., dict]) -> tuple[dict, pd.DataFrame]:
    """Train the run, publish its cache folder, return (record, predictions) (see :func:`run_one`)."""
    split = run_split(spec, corpus.store)
    sampler, train_rows = fit_sampler(spec, corpus.store, split.train)
    arch = architecture(spec, corpus.store)
    trained, probs, seconds, model = _train_and_predict(spec, corpus.store, sampler, train_rows, dev, progress,
                                                        split, arch)
    truth = corpus.store.consensus_indices()[split.test]
    record = _record(spec, corpus, key, sampler, trained, evaluate(probs, truth, corpus.store.classes), seconds, dev,
                     split)
    preds = predictions_frame(corpus.store, probs, split.test)
    if save_model:
        write_cached(folder, record, preds, model, arch)
    else:
        write_cached(folder, record, preds)
    record["cached"] = False
    return record, preds
