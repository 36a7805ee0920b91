"""``pdds evaluate`` and ``pdds predict``: use the model a run saved (see :mod:`pddslib.runs.saved_models`)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ._common import Formatter, UsageError, add_device, needs_extra

RUN_DIR_HELP = ("a run folder: DIR/models/<run> of `pdds run --out DIR`, or a folder of $PDDS_CACHE/runs "
                "(holds run.json, model.json, model.safetensors)")

EVALUATE_EPILOG = """examples:
  pdds evaluate runs/models/cltnet-pdds-seed0-* --out rescored/
  pdds evaluate runs/models/cltnet-pdds-seed0-* --store ~/pdds/other-store --split all --out other/ --json

Scores the saved model on the run's test utterances (its fold's session for a LOSO run, else the
store's test split), its training utterances, or all of them. On the run's own store and test
split the numbers equal the run's (same device). A store with other classes or feature sizes is
refused. Weights are read from model.safetensors only (never pickle).
"""

PREDICT_EPILOG = """examples:
  pdds predict runs/models/cltnet-pdds-seed0-* --wav Ses05F_impro01_F000.wav --text "I don't know."
  pdds predict runs/models/cltnet_audio-pdds-seed0-* --wav clip.wav --json

Extracts the utterance's features with the encoders the run's store was extracted with (as
recorded in its model.json; --audio-model/--text-model point to moved folders), rounded to the
store's dtype, and prints the probability of each class and the most likely one. A run trained
on the synthetic demo corpus has no encoders: predict needs a run trained on extracted features.
"""


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def _with_soft_metrics(metrics: dict, preds, store) -> dict:
    """``metrics`` with ``nll, brier, ece, kl_votes`` right after ``ua`` (of the written predictions, as a
    run's runs.csv has them; see :func:`pddslib.runs.metrics.soft_metrics_of`)."""
    from ..runs.metrics import soft_metrics_of

    soft = soft_metrics_of(preds, store)
    out = {}
    for k, v in metrics.items():
        out[k] = v
        if k == "ua":
            out.update(soft)
    return out


@needs_extra("evaluate")
def cmd_evaluate(args: argparse.Namespace) -> int:
    import torch  # noqa: F401  (the ml extra: checked before any work)

    from ..features.store import FeatureStore
    from ..runs.cache import check_writable
    from ..runs.saved_models import SavedRun
    from ..util.device import resolve_device

    resolve_device(args.device)
    run = SavedRun.open(args.run_dir)
    store_path = args.store or run.record.get("store")
    if not store_path:
        raise UsageError(f"{args.run_dir}: run.json names no store; give --store")
    if not args.store and not (Path(store_path) / "store.json").is_file():
        raise FileNotFoundError(f"{store_path}: the run's store is no longer there; give --store")
    out = check_writable(args.out, "output") if args.out else None
    store = FeatureStore.open(store_path)
    metrics, preds = run.evaluate(store, args.split, device=args.device)
    metrics = _with_soft_metrics(metrics, preds, store)
    if out is not None:
        tmp = out / f".predictions.csv.{os.getpid()}.tmp"
        preds.to_csv(tmp, index=False)
        os.replace(tmp, out / "predictions.csv")
        _write_json(out / "metrics.json", metrics)
    if args.json:
        print(json.dumps(metrics))
    else:
        wa, ua = (100 * float(run.record.get(k, float("nan"))) for k in ("wa", "ua"))
        same = {True: "; equal to the run's", None: "",
                False: f"; DIFFERENT from the run's (WA {wa:.2f}, UA {ua:.2f}: another device or thread count?)"}[
            metrics["same_as_run"]]
        print(f"{metrics['model']} on {store.path} ({args.split}, {metrics['n']} utterances): "
              f"WA {100 * metrics['wa']:.2f}  UA {100 * metrics['ua']:.2f}  NLL {metrics['nll']:.3f}  "
              f"Brier {metrics['brier']:.3f}  ECE {metrics['ece']:.3f}  KL(votes) {metrics['kl_votes']:.3f}{same}"
              + (f"; wrote {out / 'metrics.json'}" if out is not None else ""))
    return 0


@needs_extra("predict")
def cmd_predict(args: argparse.Namespace) -> int:
    import torch  # noqa: F401

    from ..features.store import FeatureStore
    from ..runs.saved_models import SavedRun, format_distribution
    from ..util.device import resolve_device

    resolve_device(args.device)
    run = SavedRun.open(args.run_dir)
    store = FeatureStore.open(args.store, validate=False) if args.store else None
    run.encoders(store)  # a demo run: one line, before any model is loaded
    if args.text is None and run.uses("text"):
        raise UsageError(f"model {run.arch['model']} uses the transcript: give --text \"...\" "
                         f"(--text \"\" for an empty one)")
    if not Path(args.wav).is_file():
        raise FileNotFoundError(f"{args.wav}: no such wav file")
    probs = run.predict_utterance(args.wav, args.text, device=args.device, store=store,
                                  audio_model=args.audio_model, text_model=args.text_model)
    best = max(probs, key=probs.get)
    if args.json:
        print(json.dumps({"run": str(run.folder), "wav": str(args.wav), "text": args.text, "probabilities": probs,
                          "prediction": best}))
    else:
        print(format_distribution(probs, run.classes))
    return 0


def add_evaluate(sub: argparse._SubParsersAction) -> None:
    from ..runs.saved_models import SPLITS

    p = sub.add_parser("evaluate", help="re-score a saved run's model on a feature store",
                       description="Rebuild a run's model from its folder, load its weights (safetensors), "
                                   "predict a store's utterances and report WA/UA and the soft metrics (NLL, "
                                   "Brier, ECE, KL from the votes).",
                       epilog=EVALUATE_EPILOG, formatter_class=Formatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help=RUN_DIR_HELP)
    p.add_argument("--store", help="the feature store to score (default: the run's own, as run.json records it)")
    p.add_argument("--split", default="test", choices=list(SPLITS),
                   help="test: the run's test utterances (default); train: its training ones; all: every utterance")
    p.add_argument("--out", metavar="DIR", help="write DIR/predictions.csv and DIR/metrics.json (WA, UA, nll, "
                                                "brier, ece, kl_votes, recall, confusion)")
    add_device(p)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=cmd_evaluate)


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="the label distribution of one utterance under a saved run's model",
                       description="Extract one wav's (and transcript's) features with the run's recorded "
                                   "encoders and print the probability of each emotion.",
                       epilog=PREDICT_EPILOG, formatter_class=Formatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help=RUN_DIR_HELP)
    p.add_argument("--wav", required=True, metavar="FILE", help="the utterance's audio (any rate; resampled to 16 kHz)")
    p.add_argument("--text", default=None,
                   help="its transcript (needed by models that use text; \"\" for an empty one)")
    p.add_argument("--store", help="take the encoders from this store's config instead of the run's record")
    p.add_argument("--audio-model", default=None, help="the audio encoder's folder or hub name, when it moved "
                                                       "(default: the recorded one)")
    p.add_argument("--text-model", default=None, help="the text encoder's folder or hub name, when it moved "
                                                      "(default: the recorded one)")
    add_device(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (probabilities and prediction)")
    p.set_defaults(func=cmd_predict)


__all__ = ["add_evaluate", "add_predict", "cmd_evaluate", "cmd_predict"]
