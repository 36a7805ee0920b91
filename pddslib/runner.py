"""One experiment runner for the notebooks and ``pdds run``.

A run is a :class:`~pddslib.config.RunSpec` on a :class:`Corpus`. Its result (WA, UA, per-class
recall, confusion matrix, training curve) and its per-utterance predictions are cached on disk
under a hash of the spec and of the **content** of the feature store (its fingerprint: labels,
splits, classes and feature values), so re-running a notebook reuses finished runs, an
interrupted sweep resumes, a changed setting re-runs only the runs it affects, and a changed
store never returns another store's numbers. The device is not part of the key (CPU and GPU
agree up to float noise); it is recorded with each run.

Cache entries are written once (:func:`pddslib.atomic.publish_once`): several processes may
share a cache; the first finished writer of an entry wins and readers never see half of one.
An entry holds ``run.json`` and ``predictions.csv`` and, unless the run was asked not to save
it, the trained model (``model.json`` + ``model.safetensors``, see :mod:`pddslib.saved`), written
in the same publish. Whether the weights are saved is not part of the key; a cached run without
them is reused for its numbers, with a warning that says how to keep its weights (``recompute``).

A run's rows (which it trains on, validates on and is tested on) come from
:func:`pddslib.splits.run_split`: the store's split, or a leave-one-session-out fold.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .atomic import publish_once, remove_dir
from .cache import cache_path
from .config import RunSettings, RunSpec, seed_list
from .features.store import FeatureStore, config_hash
from .saved import architecture, damage, encoders_of, has_model, write_model
from .splits import RunSplit, check_loso, run_split

#: Bump when a change to the code changes results, so old cached runs are not reused.
CACHE_VERSION = 2
#: What a cached run record must hold to be reused.
RECORD_KEYS = ("model", "strategy", "seed", "wa", "ua", "confusion", "n_train", "epochs", "key")


class RunCacheError(ValueError):
    """A run-cache folder or an output folder cannot be used (the message names it)."""


@dataclass
class Corpus:
    """A feature store to run on (the demo corpus or extracted features)."""

    store: FeatureStore
    name: str

    @property
    def synthetic(self) -> bool:
        return self.store.synthetic

    @property
    def scale(self) -> float | None:
        """The demo corpus's size as a fraction of IEMOCAP's (None for real data)."""
        scale = self.store.meta.get("config", {}).get("scale")
        return float(scale) if self.synthetic and scale is not None else None

    @property
    def key(self) -> str:
        """The store's content fingerprint (what run keys are computed from)."""
        return self.store.fingerprint

    @property
    def data_note(self) -> str:
        """What a reader must know about synthetic data ("" for real data)."""
        if not self.synthetic:
            return ""
        if self.store.corpus == "crema-d":
            return ("SYNTHETIC audio with real CREMA-D crowd votes (the CREMA-D demo); the numbers are not "
                    "CREMA-D's")
        return "SYNTHETIC demo data; the numbers are not IEMOCAP's and not comparable to the paper's"

    def spec(self, settings: RunSettings, model: str, strategy: str, seed: int, **extra: Any) -> RunSpec:
        """``settings.spec`` with this corpus's defaults."""
        return settings.spec(model, strategy, seed, synthetic=self.synthetic, scale=self.scale, **extra)


def iemocap_store_path(store: str | os.PathLike | None = None) -> Path:
    """The IEMOCAP feature store: ``store`` or ``$PDDS_CACHE/iemocap-features``."""
    return Path(store) if store else cache_path("iemocap-features")


def crema_d_store_path(store: str | os.PathLike | None = None) -> Path:
    """The CREMA-D feature store: ``store`` or ``$PDDS_CACHE/crema-d-features``."""
    return Path(store) if store else cache_path("crema-d-features")


def load_corpus(corpus: str = "demo", *, store: str | os.PathLike | None = None, demo_scale: float | None = None,
                demo_seed: int = 0, validate: bool = True) -> Corpus:
    """Open a corpus's feature store (nothing is extracted here: see :func:`pddslib.features.extract.extract`).

    Parameters
    ----------
    corpus : {"demo", "iemocap", "crema-d"} or a store path
        ``demo``: the generated demo corpus (generated and cached on first use). ``iemocap``: the
        store at ``store`` (default ``$PDDS_CACHE/iemocap-features``). ``crema-d``: the store at
        ``store`` (default ``$PDDS_CACHE/crema-d-features``). A path: that store (any corpus,
        e.g. one extracted from a manifest).
    store : path, optional
        The IEMOCAP or CREMA-D feature store.
    demo_scale, demo_seed : float, int
        Size (fraction of IEMOCAP's; default :data:`pddslib.corpora.demo.DEFAULT_SCALE`) and seed
        of the demo corpus.
    validate : bool
        Scan the features for NaN/inf when opening.
    """
    if corpus == "demo":
        from .corpora import demo

        demo_scale = demo.DEFAULT_SCALE if demo_scale is None else demo_scale
        return Corpus(FeatureStore.open(demo.ensure_store(demo_scale, demo_seed), validate=validate),
                      f"demo (synthetic, scale {demo_scale:g})")
    if corpus == "iemocap":
        path = _extracted_store(iemocap_store_path(store), "IEMOCAP", "iemocap")
        return Corpus(FeatureStore.open(path, validate=validate), "IEMOCAP")
    if corpus == "crema-d":
        path = _extracted_store(crema_d_store_path(store), "CREMA-D", "crema-d")
        return Corpus(*_named(FeatureStore.open(path, validate=validate)))
    path = Path(corpus)
    if (path / "store.json").is_file():
        return Corpus(*_named(FeatureStore.open(path, validate=validate)))
    raise ValueError(f"corpus must be 'demo', 'iemocap', 'crema-d' or a feature-store folder, got {corpus!r}")


def _extracted_store(path: Path, name: str, option: str) -> Path:
    """``path`` when it holds a feature store; else a one-line error saying how to extract it."""
    if not (path / "store.json").is_file():
        raise FileNotFoundError(
            f"{path}: no {name} feature store. Run `pdds extract --{option} ROOT --out {path}` once "
            f"(or give the notebook {option.replace('-', '_')}_root, which extracts it first)")
    return path


def _named(store: FeatureStore) -> tuple[FeatureStore, str]:
    """A store and the name its results are shown under."""
    if store.corpus == "crema-d":
        return store, "CREMA-D (synthetic audio)" if store.synthetic else "CREMA-D"
    return store, store.corpus


def run_key(spec: RunSpec, corpus: Corpus) -> str:
    """Hash of a run's full configuration (spec, store content, cache version)."""
    return config_hash({"spec": spec.identity(), "corpus": corpus.key, "cache_version": CACHE_VERSION})


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


# -- in-memory feature banks, kept between runs of the same store ---------------------------
_BANKS: dict[tuple[str, str], dict[str, Any]] = {}


def _banks(store: FeatureStore, device) -> dict[str, Any]:
    """A bank per modality of the store; an audio-only store gets a placeholder ``text`` bank (one
    zero frame of dimension 1 per utterance), which the audio-only models accept and ignore."""
    from .training import SequenceBank

    key = (store.fingerprint, str(device))  # by content: a rewritten store is never read from stale memory
    if key not in _BANKS:
        _BANKS.clear()
        banks = {m: SequenceBank(store.arrays[m], store.offsets[m], device) for m in store.modalities}
        if "text" not in banks:
            n = len(store)
            banks["text"] = SequenceBank(np.zeros((n, 1), np.float32), np.arange(n + 1), device)
        _BANKS[key] = banks
    return _BANKS[key]


def check_model_fits(model: str, store: FeatureStore) -> None:
    """One line naming the store when ``model`` needs a modality it lacks (an audio-only store)."""
    from .config import check_model_fits as check

    check(model, store.modalities, f"{store.path} ({store.corpus})")


# -- the cache --------------------------------------------------------------------------------
def _read_cached(folder: Path, key: str) -> tuple[dict, pd.DataFrame] | None:
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


def _write_cached(folder: Path, record: dict, preds: pd.DataFrame, model: Any = None,
                  arch: dict | None = None) -> None:
    """Publish a run folder once: run.json, predictions.csv and, given ``model``, its weights."""
    def build(tmp: Path) -> None:
        (tmp / "run.json").write_text(json.dumps(record, indent=1, default=float))
        preds.to_csv(tmp / "predictions.csv", index=False)
        if model is not None:
            write_model(tmp, model, arch)

    publish_once(folder, build)


# -- one run ------------------------------------------------------------------------------------
def fit_sampler(spec: RunSpec, store: FeatureStore, train_rows: np.ndarray | None = None):
    """The spec's resampler fitted on the run's training rows (its provenance is in store rows).

    ``train_rows`` default: those of :func:`pddslib.splits.run_split` (the store's training rows,
    or the fold's, less any validation rows).
    """
    from .resample import make_resampler

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
    from .saved import build_from
    from .training import predict, seed_everything, train_model

    check_model_fits(spec.model, store)
    banks = _banks(store, dev)
    seed_everything(spec.seed)
    model = build_from(arch).to(dev)  # the model that pddslib.saved rebuilds from model.json
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


def _predictions(store: FeatureStore, probs: np.ndarray, rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per scored utterance (default: the store's test rows), in store order."""
    classes = store.classes
    test_rows = store.split_indices("test") if rows is None else np.asarray(rows)
    truth = store.consensus_indices()[test_rows]
    return pd.DataFrame({"utt_id": store.manifest["utt_id"].to_numpy()[test_rows],
                         "consensus": [classes[i] for i in truth],
                         "pred": [classes[i] for i in probs.argmax(1)],
                         **{f"p_{c}": probs[:, k].round(6) for k, c in enumerate(classes)}})


def cached_run(spec: RunSpec, corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
               save_model: bool = True) -> tuple[dict, pd.DataFrame] | None:
    """The cached result of a run (as :func:`run_one` returns it), or None when it must be trained.

    A damaged entry is removed, with a warning naming it. With ``save_model``, a cached run
    without weights is returned with a warning that says how to keep them.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_run_cache()
    key = run_key(spec, corpus)
    return _cached_at(cache / key, key, spec, save_model)


def _cached_at(folder: Path, key: str, spec: RunSpec, save_model: bool) -> tuple[dict, pd.DataFrame] | None:
    """:func:`cached_run` for a run whose key and folder are known."""
    hit = _read_cached(folder, key)
    if hit is not None and save_model and not has_model(folder):
        warnings.warn(f"{folder}: cached run {spec.describe()} has no saved model (trained with "
                      f"--no-save-model or by an older pddslib); its numbers are reused. To keep its weights, "
                      f"run again with --recompute (from Python: recompute=True)", stacklevel=3)
    return hit


def run_one(spec: RunSpec, corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
            device: str = "auto", progress: bool = False, recompute: bool = False,
            save_model: bool = True) -> tuple[dict, pd.DataFrame]:
    """Train and evaluate one run, or load it from the cache.

    Parameters
    ----------
    save_model : bool
        Keep the trained weights in the run's cache folder (``model.safetensors``; see
        :mod:`pddslib.saved`). Not part of the key: a cached run is reused either way; when
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
    from .device import resolve_device
    from .metrics import evaluate

    cache = Path(cache_dir) if cache_dir is not None else default_run_cache()
    key = run_key(spec, corpus)
    folder = cache / key
    if recompute:
        remove_dir(folder)
    hit = _cached_at(folder, key, spec, save_model)
    if hit is not None:
        return hit
    dev = resolve_device(device)
    split = run_split(spec, corpus.store)
    sampler, train_rows = fit_sampler(spec, corpus.store, split.train)
    arch = architecture(spec, corpus.store)
    trained, probs, seconds, model = _train_and_predict(spec, corpus.store, sampler, train_rows, dev, progress,
                                                        split, arch)
    truth = corpus.store.consensus_indices()[split.test]
    record = _record(spec, corpus, key, sampler, trained, evaluate(probs, truth, corpus.store.classes), seconds, dev,
                     split)
    preds = _predictions(corpus.store, probs, split.test)
    if save_model:
        _write_cached(folder, record, preds, model, arch)
    else:
        _write_cached(folder, record, preds)
    record["cached"] = False
    return record, preds


# -- sweeps ----------------------------------------------------------------------------------------
@dataclass
class ExperimentResult:
    """Runs of one or more specs: a tidy table and the predictions of each run."""

    runs: pd.DataFrame
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary(self, by: Sequence[str] = ("model", "strategy")) -> pd.DataFrame:
        """Mean and standard deviation (over seeds) of WA and UA per group."""
        return summarise(self.runs, by)


RUN_COLUMNS = ["model", "strategy", "fold", "seed", "sigma", "normalize", "p", "clear_p", "level", "align",
               "wa", "ua", "n_train", "n_new", "n_val", "epochs", "seconds", "device", "cached", "key"]


def _log_line(k: int, n: int, spec: RunSpec, rec: dict) -> str:
    src = "cached" if rec["cached"] else f"{rec['seconds']:.0f} s, {rec['epochs']} ep"
    return (f"[{k}/{n}] {spec.describe()}: WA {100 * rec['wa']:.1f} UA {100 * rec['ua']:.1f} "
            f"(n={rec['n_train']}, {src})")


def run_specs(specs: Iterable[RunSpec], corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
              device: str = "auto", progress: bool = True, log: Callable[[str], Any] | None = print,
              save_model: bool = True, recompute: bool = False, jobs: int | str | None = 1) -> ExperimentResult:
    """Run (or load) every spec, one line per finished run; returns the tidy table.

    The cache folder is checked for writing before the first run, and a leave-one-session-out
    spec's fold against the store's sessions. ``save_model``, ``recompute``: see :func:`run_one`.

    Parameters
    ----------
    jobs : int, "auto" or None
        Runs trained at once (:mod:`pddslib.parallel`): 1 trains them one after the other in this
        process; more trains them in worker processes (``"auto"``: one per CPU on a CPU, a few on
        a GPU). Cached runs are read here either way. Not part of any run's identity: each run
        trains the same model whatever ``jobs`` is (on a CPU, up to the float noise of its thread count).
    """
    cache = check_writable(Path(cache_dir) if cache_dir is not None else default_run_cache(), "run cache")
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
    for k, rec, pr in _train(todo, specs, corpus, jobs, progress, options):
        results[k] = rec, pr
        done += 1
        if log is not None:
            log(_log_line(done, len(specs), specs[k], rec))
    records = [results[k][0] for k in range(len(specs))]
    preds = {results[k][0]["key"]: results[k][1] for k in range(len(specs))}
    runs = pd.DataFrame(records)
    cols = [c for c in RUN_COLUMNS if c in runs.columns] + [c for c in runs.columns if c not in RUN_COLUMNS]
    return ExperimentResult(runs[cols] if len(runs) else runs, preds)


def _train(todo: list[int], specs: list[RunSpec], corpus: Corpus, jobs: int | str | None, progress: bool,
           options: dict[str, Any]):
    """Train the runs ``specs[k]`` for ``k`` in ``todo``: here one by one, or in worker processes."""
    if not todo:
        return
    from .device import resolve_device
    from .parallel import resolve_jobs, run_concurrently, threads_per_job

    dev = str(resolve_device(options["device"]))
    n_jobs = resolve_jobs(jobs, dev, len(todo))
    if n_jobs == 1:
        for k in todo:
            yield (k, *run_one(specs[k], corpus, progress=progress, **options))
        return
    for i, rec, pr in run_concurrently([specs[k] for k in todo], corpus, jobs=n_jobs,
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
                     recompute=settings.recompute, jobs=settings.jobs)


def summarise(runs: pd.DataFrame, by: Sequence[str] = ("model", "strategy")) -> pd.DataFrame:
    """Mean and std of WA and UA (fractions) over the runs of each group, plus run counts and training-set size.

    With leave-one-session-out folds (a ``fold`` column with values), mean and std are over every
    (fold, seed) run of the group, ``n_folds`` counts the folds and ``n_train`` is the mean over
    the runs (the folds' training sets differ in size); otherwise over the seeds.
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
    return out.reset_index()


def format_pm(mean: float, std: float, scale: float = 100.0, digits: int = 1) -> str:
    """``55.9 ± 1.2`` (percent by default); a single seed shows no spread."""
    if std is None or not np.isfinite(std):
        return f"{scale * mean:.{digits}f}"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


__all__ = ["CACHE_VERSION", "Corpus", "ExperimentResult", "RunCacheError", "RunSettings", "RunSpec",
           "cached_run", "check_model_fits", "check_writable", "crema_d_store_path", "fit_sampler", "format_pm",
           "iemocap_store_path", "load_corpus", "run_key", "run_one", "run_settings", "run_specs", "run_specs_with",
           "seed_list", "summarise", "training_targets"]
