"""The ``pdds`` command line (also ``python -m pddslib``).

Sub-commands: ``stats``, ``plan``, ``download``, ``demo``, ``extract``, ``info``, ``run``.
Heavy modules (torch, transformers) are imported only by the sub-commands that need them.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Sequence

from . import __version__


def _sessions(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sessions must be a comma-separated list like 1,2,3,4, got {text!r}") from None
    if not out or any(s < 1 or s > 5 for s in out):
        raise argparse.ArgumentTypeError(f"--sessions must name sessions among 1..5, got {text!r}")
    return out


def _add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", default="default", choices=["default", "self", "strict", "drop-evaluator"],
                   help="vote policy (default: external evaluators only, out-of-six labels ignored, "
                        "an evaluator naming none of the six excludes the utterance)")


def _counts_from_args(args: argparse.Namespace):
    from .labels import VotePolicy

    given = [x for x in (args.iemocap, getattr(args, "crema_d", None), getattr(args, "counts", None),
                         getattr(args, "reference", None)) if x]
    if len(given) != 1:
        raise SystemExit("pdds: give exactly one source of votes: --iemocap ROOT, --crema-d PATH, "
                         "--counts FILE.json or --reference train|test")
    if args.iemocap:
        from .corpora import iemocap

        return iemocap.stats(args.iemocap, args.sessions, VotePolicy.named(args.policy))
    if getattr(args, "crema_d", None):
        from .corpora import crema_d

        return crema_d.stats(args.crema_d, args.modality)
    if getattr(args, "counts", None):
        from .counts import CountTable

        return CountTable.read_json(args.counts)
    from .reference import iemocap_counts

    return iemocap_counts(args.reference)


def cmd_stats(args: argparse.Namespace) -> int:
    counts = _counts_from_args(args)
    if args.json:
        print(json.dumps(counts.to_dict()))
    else:
        print(counts.format())
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from .resample import plan_for

    counts = _counts_from_args(args)
    params = {}
    if args.strategy == "pdds":
        params = {"sigma": args.sigma, "normalize": None if args.normalize == "none" else args.normalize}
    elif args.strategy == "uniform":
        params = {"level": args.level}
    plan = plan_for(args.strategy, counts, **params)
    if args.json:
        print(json.dumps(plan.to_dict()))
    else:
        print(plan.format())
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .corpora import crema_d

    print(crema_d.download(args.cache, force=args.force))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .corpora import demo

    path = demo.write_store(args.out, scale=args.scale, seed=args.seed)
    from .features.store import FeatureStore

    print(FeatureStore.open(path).summary())
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from .features.extract import extract_cli

    return extract_cli(args)


def cmd_info(args: argparse.Namespace) -> int:
    from .features.store import FeatureStore

    store = FeatureStore.open(args.store, validate=not args.no_validate)
    if args.json:
        print(json.dumps(store.info()))
    else:
        print(store.summary())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_cli

    return run_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdds", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pddslib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stats", help="clear/ambiguous vote statistics of IEMOCAP or CREMA-D")
    p.add_argument("--iemocap", metavar="ROOT", help="IEMOCAP release folder (holds Session1..5)")
    p.add_argument("--crema-d", metavar="PATH", help="CREMA-D tabulatedVotes.csv, its folder, or 'download'")
    p.add_argument("--reference", choices=["train", "test", "all"], help="the packaged aggregate IEMOCAP counts")
    p.add_argument("--sessions", type=_sessions, default=(1, 2, 3, 4), help="IEMOCAP sessions (default 1,2,3,4)")
    p.add_argument("--modality", default="voice", choices=["voice", "face", "audiovisual"],
                   help="CREMA-D rating modality (default voice)")
    _add_policy(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (the contract of DESIGN.md)")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("plan", help="what a resampling strategy adds to given counts")
    p.add_argument("--iemocap", metavar="ROOT")
    p.add_argument("--crema-d", metavar="PATH")
    p.add_argument("--counts", metavar="FILE.json", help="a `pdds stats --json` file")
    p.add_argument("--reference", choices=["train", "test", "all"])
    p.add_argument("--sessions", type=_sessions, default=(1, 2, 3, 4))
    p.add_argument("--modality", default="voice", choices=["voice", "face", "audiovisual"])
    _add_policy(p)
    p.add_argument("--strategy", default="pdds", choices=["none", "happiness", "uniform", "pdds"])
    p.add_argument("--sigma", type=float, default=1.0, help="Gaussian kernel width (default 1)")
    p.add_argument("--normalize", default="none", choices=["none", "sum"],
                   help="kernel normalisation (default none: Eq. 1 literally)")
    p.add_argument("--level", type=int, default=400, help="uniform balancing level (default 400)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("download", help="fetch CREMA-D's tabulatedVotes.csv into the local cache")
    p.add_argument("--cache", metavar="DIR", help="cache folder (default $PDDS_CACHE or ~/.cache/pddslib)")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("demo", help="write the synthetic demo corpus as a feature store")
    p.add_argument("--out", required=True, metavar="STORE")
    p.add_argument("--scale", type=float, default=0.05, help="fraction of IEMOCAP's size (default 0.05; 1 = IEMOCAP's size)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("extract", help="data2vec + BERT features of an IEMOCAP release into a store")
    try:
        from .features.extract import add_extract_arguments
    except ImportError:  # torch/transformers missing: still list the command
        add_extract_arguments = None
    if add_extract_arguments is not None:
        add_extract_arguments(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("info", help="describe a feature store")
    p.add_argument("store", metavar="STORE")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-validate", action="store_true", help="skip the NaN/inf scan of the arrays")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="train and evaluate a model with a resampling strategy over seeds")
    try:
        from .runner import add_run_arguments
    except ImportError:
        add_run_arguments = None
    if add_run_arguments is not None:
        add_run_arguments(p)
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Warnings read "pdds: warning: ..." (Python's default filters already show each once).
    previous = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"pdds: warning: {msg}\n"
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"pdds: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pdds: interrupted (finished work is kept; run the same command again to resume)", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = previous


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
