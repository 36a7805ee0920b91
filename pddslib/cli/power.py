"""``pdds power``: how many seeds does a claim need? From runs already made, or from given SDs."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ._common import Formatter, UsageError, needs_extra, positive_int

EPILOG = """examples:
  pdds power runs/ --effect 0.7 --metric wa
  pdds power none-runs/ pdds-runs/ --a none --b pdds --model cltnet --effect 4.3 --metric ua --json
  pdds power --seed-sd 1.4 --floor-sd 0.6 --effect 0.7 --seeds 3 5 10

With run folders (written by `pdds run --out DIR`: DIR/runs.csv and DIR/predictions/), each model
that has runs of both strategies on the same seeds is tested (the two-source test of the book:
seeds and test utterances), and its measured SD of the per-seed change and test-set floor give
the power to detect --effect and the seeds needed for 80 % power. Without folders, give both SDs.
A change below 2.80 x the floor cannot reach 80 % power on that test set at any number of seeds.
"""


def _load(dirs: list[str]):
    """The runs and predictions of ``pdds run --out`` folders, as one ExperimentResult."""
    import pandas as pd

    from ..runs.saved_models import run_folder_name
    from ..runs.sweep import ExperimentResult

    tables, preds = [], {}
    for d in dirs:
        path = Path(d) / "runs.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (expected a folder written by `pdds run --out DIR`)")
        runs = pd.read_csv(path)
        missing = {"model", "strategy", "seed", "key"} - set(runs.columns)
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        for rec in runs.to_dict("records"):
            p = Path(d) / "predictions" / f"{run_folder_name(rec)}.csv"
            before = Path(d) / "predictions" / f"{run_folder_name(rec, legacy=True)}.csv"  # names without the key
            if not p.is_file() and before.is_file():  # a folder written before the names held the run's key
                p = before
            if not p.is_file():
                raise FileNotFoundError(f"{p}: no such file (the predictions of run {rec['key']} listed in {path})")
            preds[rec["key"]] = pd.read_csv(p)
        tables.append(runs)
    runs = pd.concat(tables, ignore_index=True).drop_duplicates("key")
    first = preds[runs["key"].iloc[0]]
    classes = tuple(c[2:] for c in first.columns if c.startswith("p_"))
    return ExperimentResult(runs, preds), classes


def _measured(args: argparse.Namespace) -> list[dict]:
    from ..paper.comparisons import pair_tests

    result, classes = _load(args.dirs)
    runs = result.runs
    models = [args.model] if args.model else list(dict.fromkeys(runs["model"]))
    pairs = []
    for m in models:
        have = set(runs.loc[runs.model == m, "strategy"])
        if args.a in have and args.b in have:
            pairs.append(({"model": m, "a": args.a, "b": args.b}, {"model": m, "strategy": args.a},
                          {"model": m, "strategy": args.b}))
    if not pairs:
        raise UsageError(f"no model has runs of both --a {args.a} and --b {args.b} in {', '.join(args.dirs)}")
    tests = pair_tests(result, classes, pairs, metrics=(args.metric,), n_boot=200)
    return [{"model": r.model, "a": r.a, "b": r.b, "metric": r.metric, "change": r.estimate, "low": r.low,
             "high": r.high, "p": r.p, "seed_sd": r.seed_sd, "floor_sd": r.floor_sd, "n_seeds": int(r.n_seeds),
             "n_utterances": int(r.n_utterances)} for r in tests.itertuples()]


def _plan(row: dict, effect: float, seeds: list[int], max_seeds: int) -> dict:
    from ..paper.power import (
        detectable_effect,
        floor_effect,
        power,
        seed_sd_interval,
        seeds_needed,
    )

    sd, floor = row["seed_sd"], row["floor_sd"]
    out = {**row, "effect": effect, "power": {str(s): power(effect, sd, floor, s) for s in seeds},
           "seeds_needed": seeds_needed(effect, sd, floor, max_seeds=max_seeds),
           "floor_effect": floor_effect(floor)}
    if row.get("n_seeds", 0) >= 2:
        high = seed_sd_interval(sd, row["n_seeds"])[1]
        out |= {"seed_sd_high": high, "seeds_needed_high": seeds_needed(effect, high, floor, max_seeds=max_seeds),
                "detectable_now": detectable_effect(sd, floor, row["n_seeds"])}
    return out


def _words(p: dict, max_seeds: int) -> str:
    def seeds(n: int | None) -> str:  # the seeds needed for 80 % power (None: none suffice, or not within max_seeds)
        return (f"{n} seeds" if n is not None else "none: below the test set's floor"
                if abs(p["effect"]) <= p["floor_effect"] else f"more than {max_seeds}")

    head = (f"{p['model']}: {p['b']} vs {p['a']}, {p['metric'].upper()} {p['change']:+.2f} points "
            f"[{p['low']:+.2f}, {p['high']:+.2f}], p {p['p']:.3f}, {p['n_seeds']} seeds, {p['n_utterances']} "
            f"utterances\n  " if "change" in p else "  ")
    powers = ", ".join(f"{s} seeds {100 * v:.0f}%" for s, v in p["power"].items())
    need = seeds(p["seeds_needed"])
    text = (f"{head}SD of the per-seed change {p['seed_sd']:.2f}, test-set floor {p['floor_sd']:.2f} points; "
            f"power to detect {p['effect']:+.2f}: {powers}; 80% power needs {need}; at any number of seeds the "
            f"smallest change with 80% power is {p['floor_effect']:.2f}")
    if "detectable_now" in p:
        text += (f"; the present {p['n_seeds']} seeds detect {p['detectable_now']:.2f} with 80% power; if the per-seed "
                 f"SD is at its 95% upper bound {p['seed_sd_high']:.2f}, 80% power needs "
                 f"{seeds(p['seeds_needed_high'])}")
    return text + "."


@needs_extra("power")
def cmd_power(args: argparse.Namespace) -> int:
    if not math.isfinite(args.effect):
        raise UsageError(f"--effect must be a finite number, got {args.effect}")
    if args.dirs:
        if args.seed_sd is not None or args.floor_sd is not None:
            raise UsageError("give run folders or --seed-sd/--floor-sd, not both")
        rows = _measured(args)
    else:
        if args.seed_sd is None or args.floor_sd is None:
            raise UsageError("give run folders (DIR ...) or both --seed-sd and --floor-sd")
        if args.seed_sd == 0 and args.floor_sd == 0:
            raise UsageError("--seed-sd and --floor-sd are both 0: every change would be certain")
        rows = [{"model": "given", "a": "A", "b": "B", "metric": args.metric, "seed_sd": args.seed_sd,
                 "floor_sd": args.floor_sd}]
    plans = [_plan(r, args.effect, args.seeds, args.max_seeds) for r in rows]
    if args.json:
        print(json.dumps(plans if args.dirs else plans[0]))
    else:
        print("\n".join(_words(p, args.max_seeds) for p in plans))
    return 0


def _seed_count(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"expected a number of seeds >= 2 (one seed has no seed variance), got {value}")
    return value


def _sd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 (points), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 (points), got {text}")
    return value


def add_power(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("power", help="the seeds a claim needs: power of the two-source test",
                       description="Power of the book's test of 'B beats A' (seeds and test utterances both "
                                   "counted) to detect a change, and the seeds needed for 80% power: from runs "
                                   "already made, or from given SDs.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("dirs", nargs="*", metavar="DIR", help="folders written by `pdds run --out DIR` (runs of both "
                                                         "strategies, same seeds)")
    p.add_argument("--effect", type=float, required=True, help="the true change to detect, in points (e.g. 0.7)")
    p.add_argument("--metric", default="wa", choices=["wa", "ua"], help="WA or UA (default: wa)")
    p.add_argument("--a", default="none", help="strategy A, the reference (default: none)")
    p.add_argument("--b", default="pdds", help="strategy B (default: pdds)")
    p.add_argument("--model", help="only this model (default: every model with runs of both)")
    p.add_argument("--seed-sd", type=_sd, help="without folders: SD of the per-seed change (points)")
    p.add_argument("--floor-sd", type=_sd, help="without folders: the test set's floor, an SD (points)")
    p.add_argument("--seeds", type=_seed_count, nargs="+", default=[3, 5, 10, 20],
                   help="seed counts to give the power at (default: 3 5 10 20)")
    p.add_argument("--max-seeds", type=_seed_count, default=1000, help="search the seeds needed up to this many")
    p.add_argument("--json", action="store_true", help="print one JSON object (a list with run folders)")
    p.set_defaults(func=cmd_power)
