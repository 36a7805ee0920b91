"""``pdds run``: train and evaluate a model with a resampling strategy over seeds."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ._common import Formatter, add_constrained, add_device, add_sampler_options, jobs, needs_extra, positive_int

EPILOG = """examples:
  pdds run --model cltnet --strategy pdds --corpus demo --seeds 3 --out results/
  pdds run --model mat --strategy none --corpus iemocap --store /data/pdds-store --original-recipe --out mat/
  pdds run --model cltnet --strategy pdds --p 0.7 --sigma 2 --normalize sum --corpus STORE --out sweep/ --json
  pdds run --model cltnet --strategy pdds --corpus STORE --folds loso --seeds 2 --out loso/
  pdds run --model cltnet --strategy pdds --corpus STORE --val-fraction 0.1 --out val/
  pdds run --model cltnet --strategy uniform --pairs unordered --targets onehot --out readings/
  pdds run --model cltnet --strategy none --class-weight balanced --out control/
  pdds run --model mat --strategy pdds --corpus STORE --device cuda --amp --jobs 6 --out gpu/
  pdds run --model cltnet --strategy pdds --corpus STORE --seeds 5 --scheduler tcp://head:8786 --out cluster/

Defaults not given here are the corpus's: the paper's settings on real data; on the synthetic
demo corpus fewer epochs, a scaled uniform level and narrow models (see the Decisions page).
Finished runs are cached by content under $PDDS_CACHE/runs; rerunning reuses them. Each run's
weights are kept (DIR/models/<run>/, for `pdds evaluate` and `pdds predict`) unless
--no-save-model; a run cached without weights is reused for its numbers, and --recompute trains
it again to keep them. <run> is <model>-<strategy>-seed<k>-<the first 8 characters of the run's
key> (-fold<f> before -seed with --folds loso), as its DIR/predictions/<run>.csv. A DIR whose
runs.csv lists runs of other settings is refused unless --overwrite (which removes their models
and predictions); the same command again (or with more seeds) writes into it.
"""


#: The sampler options of ``pdds run`` (:func:`pddslib.cli._common.add_sampler_options`).
RUN_SAMPLER_OPTIONS = ("p", "sigma", "normalize", "level", "align", "pairs")


def settings_from_args(args: argparse.Namespace):
    """The :class:`~pddslib.config.RunSettings` that ``pdds run``'s options describe."""
    from ..config import RunSettings

    params = {**{name: getattr(args, name) for name in RUN_SAMPLER_OPTIONS}, "max_epochs": args.epochs,
              "patience": args.patience, "lr": args.lr, "weight_decay": args.weight_decay,
              "batch_size": args.batch_size, "amp": True if args.amp else None,
              "bucket": False if args.no_bucket else None, "val_fraction": args.val_fraction,
              "targets": args.targets, "class_weight": args.class_weight}
    return RunSettings(seeds=args.seeds, params=params, original_recipe=args.original_recipe, device=args.device,
                       cache_dir=args.cache, progress=not args.no_progress, folds=args.folds,
                       save_model=not args.no_save_model, recompute=args.recompute, jobs=args.jobs,
                       scheduler=args.scheduler or args.scheduler_file)


def _number(x: float) -> float | None:
    return None if x != x else float(x)


def _listed_runs(out: Path) -> list[dict] | None:
    """The records of DIR/runs.csv (None when there is none; an unreadable one raises ValueError)."""
    import pandas as pd

    path = out / "runs.csv"
    if not path.is_file():
        return None
    try:
        runs = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: unreadable ({str(err).strip().splitlines()[0] if str(err).strip() else err})") \
            from None
    missing = {"model", "strategy", "seed", "key"} - set(runs.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return runs.to_dict("records")


def check_out(out: Path, keys: list[str], overwrite: bool = False) -> None:
    """Refuse an --out folder whose runs.csv lists runs this command does not make (before any training).

    The same command again (the same keys, or more of them: more seeds) writes into it; other
    settings need ``overwrite`` (their runs.csv, models and predictions are then replaced).
    """
    if overwrite:
        return
    from ..runs.saved_models import run_folder_name

    try:
        listed = _listed_runs(out)
    except ValueError as err:
        raise FileExistsError(f"{err}; pass --overwrite to replace it, or choose another --out") from None
    if listed is None:
        return
    others = [rec for rec in listed if str(rec["key"]) not in set(keys)]
    if others:
        raise FileExistsError(f"{out}: holds runs.csv of other runs ({len(others)} of its {len(listed)} not made by "
                              f"this command, e.g. {run_folder_name(others[0])}); pass --overwrite to replace them, "
                              f"or choose another --out")


def _remove_stale(out: Path, old: list[dict], keys: set[str]) -> None:
    """The models and predictions of the runs of DIR/runs.csv that the new runs.csv no longer lists."""
    import shutil

    from ..runs.saved_models import run_folder_name

    for rec in old:
        if str(rec["key"]) in keys:
            continue
        for name in {run_folder_name(rec), run_folder_name(rec, legacy=True)}:
            if (out / "models" / name).is_dir():
                shutil.rmtree(out / "models" / name)
            (out / "predictions" / f"{name}.csv").unlink(missing_ok=True)


def _write_outputs(out: Path, res, cache: Path | None = None) -> Path:
    """DIR/runs.csv, DIR/predictions/<run>.csv and (given the run cache) DIR/models/<run>/ of each saved run.

    The models and predictions of runs the former runs.csv listed and this one does not (``--overwrite``
    with other settings) are removed; ``<run>`` is :func:`pddslib.runs.saved_models.run_folder_name`.
    """
    from ..runs.saved_models import export_run, has_model, run_folder_name

    try:
        old = _listed_runs(out) or []
    except ValueError:
        old = []  # an unreadable runs.csv (replaced under --overwrite): nothing of it to tidy
    (out / "predictions").mkdir(parents=True, exist_ok=True)
    table = res.runs.drop(columns=[c for c in ("confusion", "losses", "val_losses", "spec", "encoders")
                                   if c in res.runs.columns])
    tmp = out / f".runs.csv.{os.getpid()}.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out / "runs.csv")
    _remove_stale(out, old, {str(k) for k in res.runs["key"]})
    for rec, pr in zip(res.runs.to_dict("records"), res.predictions.values()):
        name = run_folder_name(rec)
        tmp = out / "predictions" / f".{name}.csv.{os.getpid()}.tmp"
        pr.to_csv(tmp, index=False)
        os.replace(tmp, out / "predictions" / f"{name}.csv")
        if cache is not None and has_model(cache / rec["key"]):
            export_run(cache / rec["key"], out / "models" / name)
    return out / "runs.csv"


def _specs(settings, corpus, args: argparse.Namespace) -> list:
    """The runs of ``pdds run``: every (fold, seed) of --model and --strategy, with the corpus's defaults."""
    return [corpus.spec(settings, args.model, args.strategy, seed, fold=fold)
            for fold in settings.fold_values for seed in settings.seed_values]


def _sweep(settings, corpus, specs: list, args: argparse.Namespace):
    """The sweep of ``pdds run`` (on a cluster, an unreachable scheduler or failed runs raise ``ClusterError``)."""
    from ..runs.sweep import run_specs_with

    if settings.scheduler is not None:
        from ._common import MissingExtra

        try:
            import distributed  # noqa: F401
        except ModuleNotFoundError:
            raise MissingExtra("pdds run --scheduler needs the cluster extra (distributed is not installed): "
                               "pip install 'pddslib[cluster]'") from None
    return run_specs_with(settings, specs, corpus, log=lambda s: print(s, file=sys.stderr))


@needs_extra("run")
def cmd_run(args: argparse.Namespace) -> int:
    import torch  # noqa: F401  (the ml extra: checked before any work)

    from ..runs.cache import check_writable, run_cache_dir, run_key
    from ..runs.corpus import check_model_fits, load_corpus
    from ..runs.splits import check_loso
    from ..util.device import resolve_device
    from ..util.formats import pm

    resolve_device(args.device)  # a bad --device fails here, before any folder or corpus is made
    settings = settings_from_args(args)
    check_writable(run_cache_dir(args.cache or None), "run cache")
    out = check_writable(args.out, "output")
    corpus = load_corpus(args.corpus, store=args.store, demo_scale=args.demo_scale)
    if corpus.synthetic:
        print(f"corpus: {corpus.name} -- {corpus.data_note}", file=sys.stderr)
    specs = _specs(settings, corpus, args)
    if settings.folds == "loso":  # what the sweep checks first, before the --out folder is judged
        check_loso(corpus.store.manifest, str(corpus.store.path))
    check_model_fits(args.model, corpus.store)
    check_out(out, [run_key(spec, corpus) for spec in specs], overwrite=args.overwrite)
    res = _sweep(settings, corpus, specs, args)
    cache = run_cache_dir(args.cache or None)
    written = _write_outputs(out, res, cache if settings.save_model else None)
    s = res.summary().iloc[0]
    n_folds = int(s.n_folds) if "n_folds" in s.index else None
    if args.json:
        print(json.dumps({"model": args.model, "strategy": args.strategy, "corpus": corpus.name,
                          "store_fingerprint": corpus.key, "folds": args.folds, "n_folds": n_folds,
                          "n_seeds": int(s.n_seeds), "n_train": int(s.n_train),
                          "wa_mean": float(s.wa_mean), "wa_std": None if s.wa_std != s.wa_std else float(s.wa_std),
                          "ua_mean": float(s.ua_mean), "ua_std": None if s.ua_std != s.ua_std else float(s.ua_std),
                          **{k: _number(s[k]) for k in ("wa_fold_sd", "wa_seed_sd", "ua_fold_sd", "ua_seed_sd")
                             if k in s.index},
                          "runs": str(written), "keys": res.runs["key"].tolist()}))
    else:
        over = f"{n_folds} LOSO fold(s) x {int(s.n_seeds)} seed(s)" if n_folds else f"{int(s.n_seeds)} seed(s)"
        print(f"{args.model} / {args.strategy} over {over} on {corpus.name}: "
              f"WA {pm(s.wa_mean, s.wa_std, scale=100)}  UA {pm(s.ua_mean, s.ua_std, scale=100)}  "
              f"(n_train {int(s.n_train)}{' mean' if n_folds else ''}); wrote {written}")
        if n_folds:
            print(f"  SD over folds (of each fold's mean over seeds): WA {100 * s.wa_fold_sd:.1f}, UA "
                  f"{100 * s.ua_fold_sd:.1f}; SD over seeds within a fold: WA {100 * s.wa_seed_sd:.1f}, UA "
                  f"{100 * s.ua_seed_sd:.1f} points")
    return 0


def add_run(sub: argparse._SubParsersAction) -> None:
    from ..config import DEFAULT_SCALE, FOLD_PROTOCOLS, strategies
    from ..features.corpus_kinds import DEFAULT, kinds
    from ..models.registry import MODELS

    p = sub.add_parser("run", help="train and evaluate a model with a resampling strategy over seeds",
                       description="Train a model on a feature store with a resampling strategy, once per seed; "
                                   "write runs.csv and per-utterance predictions; print mean ± std.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("--model", required=True, choices=list(MODELS), help="the model of Table 1 (or one registered)")
    p.add_argument("--strategy", default="pdds", choices=list(strategies()), help="training data (default %(default)s)")
    g = p.add_argument_group("resampling (defaults: the sampler's)")
    add_sampler_options(g, RUN_SAMPLER_OPTIONS, notes={"level": ", scaled on the demo corpus"})
    g = p.add_argument_group("corpus")
    names = [k.name for k in kinds() if k.runnable]  # the registered corpora (pddslib.features.corpus_kinds)
    stored = [k for k in kinds() if k.runnable and k.store_dir]
    g.add_argument("--corpus", default=DEFAULT,
                   help=f"{', '.join(repr(n) for n in names[:-1])} or {names[-1]!r} (with --store), or a "
                        "feature-store folder (any corpus, e.g. from `pdds extract --manifest`; an audio-only store "
                        "trains --model cltnet_audio)")
    g.add_argument("--store", help=f"the {' or '.join(k.display for k in stored)} feature store (with --corpus "
                                   f"{'|'.join(k.name for k in stored)}; default "
                                   f"{' or '.join('$PDDS_CACHE/' + str(k.store_dir) for k in stored)})")
    g.add_argument("--demo-scale", type=float, default=None,
                   help=f"demo corpus size, fraction of IEMOCAP's (default {DEFAULT_SCALE:g})")
    g.add_argument("--folds", default="paper", choices=list(FOLD_PROTOCOLS),
                   help="paper: the store's split (IEMOCAP: sessions 1-4 train, 5 test; the default); loso: "
                        "leave-one-session-out, 5 folds x seeds, mean ± std over all of them")
    _add_training(p)
    g = p.add_argument_group("execution")
    add_device(g)
    g.add_argument("--jobs", type=jobs, default="auto", metavar="N",
                   help="runs trained at once, in worker processes (auto: one per CPU on a CPU, each with one "
                        "thread; 4 on a GPU; 1: one after the other in this process). Results do not depend on "
                        "it (on a CPU, up to float noise)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="train the runs on this Dask cluster (tcp://host:8786; needs pddslib[cluster]; "
                            "workers started with --nthreads 1, and the run cache and store on a filesystem they "
                            "share); --jobs is then ignored")
    where.add_argument("--scheduler-file", metavar="FILE",
                       help="the same, given the scheduler's file (dask scheduler --scheduler-file FILE, or a "
                            "dask-jobqueue cluster's)")
    g.add_argument("--cache", help="run cache folder (default $PDDS_CACHE/runs)")
    g.add_argument("--no-progress", action="store_true", help="no per-epoch progress bar")
    g.add_argument("--no-save-model", action="store_true",
                   help="do not keep the trained weights (saves disk in sweeps; the numbers do not change)")
    g.add_argument("--recompute", action="store_true",
                   help="train again even when the run is cached (replaces it; e.g. to keep the weights of a run "
                        "cached without them)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="writes DIR/runs.csv, DIR/predictions/ and DIR/models/<run>/ (run.json + weights)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the runs.csv, models and predictions of other runs in DIR (without it, a DIR "
                        "holding runs of other settings is refused; the same command again needs no --overwrite)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_run)


def _add_training(p: argparse.ArgumentParser) -> None:
    """The training options of ``pdds run`` (their defaults and values read from
    :class:`pddslib.config.TrainConfig` and its declared constraints)."""
    from ..config import DEFAULT_SEEDS, TrainConfig

    t = TrainConfig()
    declared = TrainConfig._parameter_constraints

    def add(flag: str, field: str, help: str) -> None:
        add_constrained(g, flag, declared[field], dest=flag[2:].replace("-", "_"), help=help)

    g = p.add_argument_group("training (defaults: the paper's, or the corpus's)")
    g.add_argument("--seeds", type=positive_int, default=DEFAULT_SEEDS,
                   help=f"number of seeds, 0..N-1 (default {DEFAULT_SEEDS})")
    add("--epochs", "max_epochs", f"at most this many epochs (default {t.max_epochs}; fewer on the demo corpus)")
    add("--patience", "patience", f"stop after this many epochs without a lower training (or validation) loss "
                                  f"(default {t.patience})")
    add("--val-fraction", "val_fraction",
        f"hold out this fraction of the training utterances (per class, drawn with the seed) and stop on their "
        f"loss, keeping the best epoch (default {t.val_fraction:g}: stop on the training loss, the paper's rule)")
    add("--lr", "lr", f"Adam learning rate (default {t.lr:g})")
    add("--weight-decay", "weight_decay", f"Adam weight decay (default {t.weight_decay:g})")
    add("--batch-size", "batch_size", f"batch size (default {t.batch_size})")
    add("--targets", "targets", f"targets of the original samples: vote distributions or the one-hot consensus "
                                f"label; mixed samples keep Eq. (3)'s labels (default {t.targets})")
    add("--class-weight", "class_weight", f"weight each sample's KL loss by the inverse frequency of its class(es) "
                                          f"in the training targets (default {t.class_weight})")
    g.add_argument("--no-bucket", action="store_true",
                   help="random minibatches instead of batches of similar length (default: bucketed)")
    g.add_argument("--original-recipe", action="store_true",
                   help="the model's original lr / batch / weight decay where they differ "
                        "(e.g. MAT: lr 1e-4, batch 32)")
    g.add_argument("--amp", action="store_true", help="mixed precision (bf16/fp16) on CUDA")
