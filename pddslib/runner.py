"""One experiment runner for the notebooks and ``pdds run``.

A run is (model, resampling strategy and its parameters, corpus, seed, training settings). Its
result (WA, UA, per-class recall, confusion matrix, training curve) and its per-utterance
predictions are cached on disk under a hash of everything that can change them, so re-running
a notebook reuses finished runs, an interrupted sweep resumes, and a changed setting re-runs
only the runs it affects. The device is not part of the hash (CPU and GPU agree up to float
noise); it is recorded with each run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .atomic import atomic_dir
from .features.store import FeatureStore, config_hash
from .labels import CLASSES

#: Bump when a change to the code changes results, so old cached runs are not reused.
CACHE_VERSION = 1

#: Which resampling parameters matter for which strategy (the rest stay out of the run's hash).
STRATEGY_PARAMS: dict[str, tuple[str, ...]] = {
    "none": (),
    "happiness": ("clear_p", "align"),
    "uniform": ("level", "p", "clear_p", "align"),
    "pdds": ("sigma", "normalize", "p", "clear_p", "align"),
}


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one training run (defaults: the paper's settings)."""

    model: str
    strategy: str = "none"
    seed: int = 0
    sigma: float = 1.0
    normalize: str = "none"
    p: float = 0.8
    clear_p: float = 0.5
    level: int = 400
    align: str = "pad"
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 10
    amp: bool = False
    bucket: bool = True
    model_overrides: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from .models import MODEL_NAMES

        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}; expected one of {MODEL_NAMES}")
        if self.strategy not in STRATEGY_PARAMS:
            raise ValueError(f"unknown strategy {self.strategy!r}; expected one of {tuple(STRATEGY_PARAMS)}")

    def resampler_params(self) -> dict[str, Any]:
        """Keyword arguments of :func:`pddslib.resample.make_resampler` for this strategy."""
        params = {k: getattr(self, k) for k in STRATEGY_PARAMS[self.strategy]}
        if "normalize" in params:
            params["normalize"] = None if params["normalize"] == "none" else params["normalize"]
        return params

    def train_config(self):
        from .training import TrainConfig

        return TrainConfig(lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size,
                           max_epochs=self.max_epochs, patience=self.patience, align=self.align, amp=self.amp,
                           bucket=self.bucket)

    def identity(self) -> dict[str, Any]:
        """The fields that define the result (irrelevant resampling parameters left out)."""
        d = asdict(self)
        for k in ("sigma", "normalize", "p", "clear_p", "level", "align"):
            if k not in STRATEGY_PARAMS[self.strategy]:
                d.pop(k)
        d["model_overrides"] = dict(self.model_overrides)
        return d


@dataclass
class Corpus:
    """A feature store to run on (the demo corpus or extracted IEMOCAP features)."""

    store: FeatureStore
    name: str

    @property
    def synthetic(self) -> bool:
        return self.store.synthetic

    @property
    def key(self) -> str:
        return str(self.store.meta.get("config_hash"))


def load_corpus(corpus: str = "demo", *, store: str | os.PathLike | None = None,
                iemocap_root: str | os.PathLike | None = None, demo_scale: float | None = None,
                demo_seed: int = 0, validate: bool = True, **extract_kwargs: Any) -> Corpus:
    """Resolve a corpus name to a feature store.

    Parameters
    ----------
    corpus : {"demo", "iemocap"} or a store path
        ``demo``: the generated demo corpus (cached after its first use). ``iemocap``: the
        features of ``store``; when that store does not exist yet and ``iemocap_root`` is given,
        they are extracted first (``pdds extract``, resumable). A path: that store.
    store : path, optional
        The IEMOCAP feature store (default ``$PDDS_CACHE/iemocap-features``).
    iemocap_root : path, optional
        The IEMOCAP release folder (for extraction).
    demo_scale, demo_seed : float, int
        Size (fraction of IEMOCAP's) and seed of the demo corpus.
    """
    if corpus == "demo":
        from .corpora import demo

        demo_scale = demo.DEFAULT_SCALE if demo_scale is None else demo_scale
        return Corpus(FeatureStore.open(demo.ensure_store(demo_scale, demo_seed), validate=validate),
                      f"demo (synthetic, scale {demo_scale:g})")
    if corpus == "iemocap":
        path = Path(store) if store else default_cache() / "iemocap-features"
        if not (path / "store.json").is_file():
            if iemocap_root is None:
                raise FileNotFoundError(
                    f"{path}: no IEMOCAP feature store. Run `pdds extract --iemocap ROOT --out {path}` "
                    f"once, or pass iemocap_root so that it is extracted now")
            from .features.extract import extract

            extract(iemocap_root, path, **extract_kwargs)
        return Corpus(FeatureStore.open(path, validate=validate), "IEMOCAP")
    path = Path(corpus)
    if (path / "store.json").is_file():
        st = FeatureStore.open(path, validate=validate)
        return Corpus(st, st.corpus)
    raise ValueError(f"corpus must be 'demo', 'iemocap' or a feature-store folder, got {corpus!r}")


def default_cache() -> Path:
    """``$PDDS_CACHE`` or ``~/.cache/pddslib``."""
    return Path(os.environ.get("PDDS_CACHE", Path.home() / ".cache" / "pddslib"))


def run_key(spec: RunSpec, corpus: Corpus) -> str:
    """Hash of a run's full configuration (spec, corpus features, cache version)."""
    return config_hash({"spec": spec.identity(), "corpus": corpus.key, "n": len(corpus.store),
                        "cache_version": CACHE_VERSION})


# -- in-memory feature banks, kept between runs of the same store ---------------------------
_BANKS: dict[tuple[str, str], dict[str, Any]] = {}


def _banks(store: FeatureStore, device) -> dict[str, Any]:
    from .training import SequenceBank

    # keyed by content too: a store rewritten at the same path must not be read from stale memory
    key = (str(store.path.resolve()), store.meta.get("config_hash"),
           (store.path / "store.json").stat().st_mtime_ns, str(device))
    if key not in _BANKS:
        _BANKS.clear()
        _BANKS[key] = {m: SequenceBank(store.arrays[m], store.offsets[m], device) for m in ("audio", "text")}
    return _BANKS[key]


def _write_atomic_dir(target: Path, files: dict[str, str]) -> None:
    with atomic_dir(target) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text)


def run_one(spec: RunSpec, corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
            device: str = "auto", progress: bool = False, recompute: bool = False) -> tuple[dict, pd.DataFrame]:
    """Train and evaluate one run, or load it from the cache.

    Returns
    -------
    record : dict
        ``model, strategy, seed, <strategy params>, wa, ua, recall_<c>, confusion, n_train,
        n_new, epochs, seconds, losses, device, key, cached``.
    predictions : pandas.DataFrame
        One row per test utterance: ``utt_id, consensus, pred, p_<c>...``.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache() / "runs"
    key = run_key(spec, corpus)
    folder = cache / key
    if not recompute and (folder / "run.json").is_file() and (folder / "predictions.csv").is_file():
        record = json.loads((folder / "run.json").read_text())
        record["cached"] = True
        return record, pd.read_csv(folder / "predictions.csv")

    import torch

    from .metrics import evaluate
    from .models import build_model
    from .resample import make_resampler
    from .training import predict, resolve_device, seed_everything, train_model

    store = corpus.store
    dev = resolve_device(device)
    classes = store.classes
    train_rows = store.split_indices("train")
    test_rows = store.split_indices("test")
    y = store.label_distributions()[train_rows]
    cells = store.cells()[train_rows]
    sampler = make_resampler(spec.strategy, classes=classes, random_state=spec.seed,
                             **spec.resampler_params()).fit(y, cells=cells)
    sources = train_rows[sampler.sample_indices_]  # (N_res, 2) store rows
    banks = _banks(store, dev)
    seed_everything(spec.seed)
    model = build_model(spec.model, audio_dim=store.dims["audio"], text_dim=store.dims["text"],
                        n_classes=len(classes), **dict(spec.model_overrides)).to(dev)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=spec.max_epochs, desc=f"{spec.model}/{spec.strategy}/seed {spec.seed}", leave=False,
                   unit="epoch", file=sys.stderr)

    def on_epoch(epoch: int, loss: float) -> None:
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")

    t0 = time.perf_counter()
    try:
        trained = train_model(model, banks, sources, sampler.mix_weights_, sampler.y_resampled_,
                              spec.train_config(), seed=spec.seed, on_epoch=on_epoch)
    finally:
        if bar is not None:
            bar.close()
    probs = predict(model, banks, test_rows, amp=spec.amp)
    seconds = time.perf_counter() - t0
    truth = store.consensus_indices()[test_rows]
    metrics = evaluate(probs, truth, classes)
    record = {
        "model": spec.model, "strategy": spec.strategy, "seed": spec.seed,
        **{k: getattr(spec, k) for k in ("sigma", "normalize", "p", "clear_p", "level", "align")
           if k in STRATEGY_PARAMS[spec.strategy]},
        "wa": metrics["wa"], "ua": metrics["ua"],
        **{f"recall_{c}": r for c, r in metrics["recall"].items()},
        "confusion": metrics["confusion"],
        "n_train": int(len(sources)), "n_new": int(len(sources) - len(train_rows)), "n_test": int(len(test_rows)),
        "epochs": trained.epochs, "stopped_early": trained.stopped_early, "losses": trained.losses,
        "seconds": round(seconds, 3), "device": str(dev), "torch": torch.__version__,
        "corpus": corpus.name, "store": str(store.path), "key": key, "spec": spec.identity(),
    }
    preds = pd.DataFrame({"utt_id": store.manifest["utt_id"].to_numpy()[test_rows],
                          "consensus": [classes[i] for i in truth],
                          "pred": [classes[i] for i in probs.argmax(1)],
                          **{f"p_{c}": probs[:, k].round(6) for k, c in enumerate(classes)}})
    _write_atomic_dir(folder, {"run.json": json.dumps(record, indent=1, default=float),
                               "predictions.csv": preds.to_csv(index=False)})
    record["cached"] = False
    return record, preds


@dataclass
class ExperimentResult:
    """Runs of one or more specs: a tidy table and the predictions of each run."""

    runs: pd.DataFrame
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary(self, by: Sequence[str] = ("model", "strategy")) -> pd.DataFrame:
        """Mean and standard deviation (over seeds) of WA and UA per group."""
        return summarise(self.runs, by)


RUN_COLUMNS = ["model", "strategy", "seed", "sigma", "normalize", "p", "clear_p", "level", "align",
               "wa", "ua", "n_train", "n_new", "epochs", "seconds", "device", "cached", "key"]


def run_specs(specs: Iterable[RunSpec], corpus: Corpus, *, cache_dir: str | os.PathLike | None = None,
              device: str = "auto", progress: bool = True, log=print) -> ExperimentResult:
    """Run (or load) every spec, one line per finished run; returns the tidy table."""
    records, preds = [], {}
    specs = list(specs)
    for k, spec in enumerate(specs, start=1):
        rec, pr = run_one(spec, corpus, cache_dir=cache_dir, device=device, progress=progress)
        records.append(rec)
        preds[rec["key"]] = pr
        if log is not None:
            src = "cached" if rec["cached"] else f"{rec['seconds']:.0f} s, {rec['epochs']} ep"
            extra = f" p={spec.p:g}" if spec.strategy in ("pdds", "uniform") and spec.p != 0.8 else ""
            log(f"[{k}/{len(specs)}] {spec.model} {spec.strategy}{extra} seed {spec.seed}: "
                f"WA {100 * rec['wa']:.1f} UA {100 * rec['ua']:.1f} (n={rec['n_train']}, {src})")
    runs = pd.DataFrame(records)
    cols = [c for c in RUN_COLUMNS if c in runs.columns] + [c for c in runs.columns if c not in RUN_COLUMNS]
    return ExperimentResult(runs[cols] if len(runs) else runs, preds)


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``3`` -> ``[0, 1, 2]``; a list is taken as it is."""
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return list(range(int(seeds)))
    return [int(s) for s in seeds]


def summarise(runs: pd.DataFrame, by: Sequence[str] = ("model", "strategy")) -> pd.DataFrame:
    """Mean and std over seeds of WA and UA (fractions), plus run counts and training-set size."""
    by = [b for b in by if b in runs.columns]
    g = runs.groupby(by, sort=False)
    out = pd.DataFrame({
        "wa_mean": g["wa"].mean(), "wa_std": g["wa"].std(ddof=1),
        "ua_mean": g["ua"].mean(), "ua_std": g["ua"].std(ddof=1),
        "n_seeds": g["seed"].nunique(), "n_train": g["n_train"].first(),
    })
    return out.reset_index()


def format_pm(mean: float, std: float, scale: float = 100.0, digits: int = 1) -> str:
    """``55.9 ± 1.2`` (percent by default); a single seed shows no spread."""
    if std is None or not np.isfinite(std):
        return f"{scale * mean:.{digits}f}"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


# -- `pdds run` ---------------------------------------------------------------------------
def add_run_arguments(p: argparse.ArgumentParser) -> None:
    from .models import MODEL_NAMES

    p.add_argument("--model", required=True, choices=MODEL_NAMES)
    p.add_argument("--strategy", default="pdds", choices=list(STRATEGY_PARAMS))
    p.add_argument("--p", type=float, default=0.8, help="mixup weight of the major emotion (default 0.8)")
    p.add_argument("--sigma", type=float, default=1.0, help="Gaussian kernel width (default 1)")
    p.add_argument("--normalize", default="none", choices=["none", "sum"])
    p.add_argument("--level", type=int, default=400, help="uniform balancing level (default 400)")
    p.add_argument("--align", default="pad", choices=["pad", "crop", "interp"])
    p.add_argument("--corpus", default="demo", help="'demo', 'iemocap' (with --store) or a feature-store folder")
    p.add_argument("--store", help="IEMOCAP feature store (with --corpus iemocap)")
    p.add_argument("--demo-scale", type=float, default=None, help="demo corpus size, fraction of IEMOCAP (default 0.05)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds, 0..N-1 (default 3)")
    p.add_argument("--epochs", type=int, default=30, help="at most this many epochs (default 30)")
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--original-recipe", action="store_true",
                   help="use the model's original training recipe where it differs (e.g. MAT: lr 1e-4, batch 32)")
    p.add_argument("--amp", action="store_true", help="mixed precision on CUDA")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache", help="run cache folder (default $PDDS_CACHE/runs)")
    p.add_argument("--out", required=True, metavar="DIR", help="writes DIR/runs.csv and DIR/predictions/")


def run_cli(args: argparse.Namespace) -> int:
    from .models import ORIGINAL_RECIPES

    corpus = load_corpus(args.corpus, store=args.store, demo_scale=args.demo_scale)
    base = dict(model=args.model, strategy=args.strategy, p=args.p, sigma=args.sigma, normalize=args.normalize,
                level=args.level, align=args.align, lr=args.lr, weight_decay=args.weight_decay,
                batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience, amp=args.amp)
    if args.original_recipe:
        recipe = ORIGINAL_RECIPES.get(args.model, {})
        base.update({k: v for k, v in recipe.items() if k in {f.name for f in fields(RunSpec)}})
    specs = [RunSpec(seed=s, **base) for s in seed_list(args.seeds)]
    if corpus.synthetic:
        print(f"corpus: {corpus.name} -- SYNTHETIC demo data; the numbers are not IEMOCAP's and not "
              f"comparable to the paper's", file=sys.stderr)
    res = run_specs(specs, corpus, cache_dir=args.cache, device=args.device,
                    log=lambda s: print(s, file=sys.stderr))
    out = Path(args.out)
    (out / "predictions").mkdir(parents=True, exist_ok=True)
    table = res.runs.drop(columns=[c for c in ("confusion", "losses", "spec") if c in res.runs.columns])
    tmp = out / ".runs.csv.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out / "runs.csv")
    for rec, (key, pr) in zip(res.runs.to_dict("records"), res.predictions.items()):
        pr.to_csv(out / "predictions" / f"{rec['model']}-{rec['strategy']}-seed{rec['seed']}.csv", index=False)
    s = res.summary().iloc[0]
    print(f"{args.model} / {args.strategy} over {int(s.n_seeds)} seed(s) on {corpus.name}: "
          f"WA {format_pm(s.wa_mean, s.wa_std)}  UA {format_pm(s.ua_mean, s.ua_std)}  "
          f"(n_train {int(s.n_train)}); wrote {out / 'runs.csv'}")
    return 0
