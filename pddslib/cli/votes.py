"""``pdds stats`` and ``pdds plan``: vote statistics and what a strategy adds (core install only)."""

from __future__ import annotations

import argparse
import json

from ._common import Formatter, UsageError, add_sampler_options, add_vote_source

STATS_EPILOG = """examples:
  pdds stats --reference train
  pdds stats --iemocap /data/IEMOCAP_full_release --sessions 1,2,3,4 --json > counts.json
  pdds stats --crema-d download                  # agreement 0.8 (default), compared with 1
  pdds stats --crema-d download --agreement 0.9
  pdds stats --manifest data.csv                 # the manifest's train split, audio not read
  pdds stats --store /data/crema-d-store --split all
"""

PLAN_EPILOG = """examples:
  pdds plan --reference train
  pdds plan --counts counts.json --sigma 2 --normalize sum --json
  pdds plan --reference train --strategy uniform --level 400
  pdds plan --store /data/crema-d-store           # what PDDS adds to a store's training split
  pdds plan --reference train --strategy uniform --pairs unordered --json
"""


#: The sampler options of ``pdds plan`` (:func:`pddslib.cli._common.add_sampler_options`).
PLAN_SAMPLER_OPTIONS = ("sigma", "normalize", "level", "pairs")


def _source(args: argparse.Namespace) -> tuple[str, dict]:
    from ..corpora import source_from_flags

    flags = [args.iemocap, args.crema_d, args.manifest, args.store, getattr(args, "counts", None), args.reference]
    if sum(bool(f) for f in flags) != 1:
        raise UsageError("give exactly one source of votes: --iemocap ROOT, --crema-d PATH, --manifest CSV, "
                         "--store STORE, " + ("--counts FILE.json " if hasattr(args, "counts") else "")
                         + "or --reference train|test|all")
    return source_from_flags(iemocap=args.iemocap, crema_d=args.crema_d, counts=getattr(args, "counts", None),
                             reference=args.reference, sessions=args.sessions, policy=args.policy,
                             modality=args.modality, manifest=args.manifest, store=args.store,
                             agreement=args.agreement, split=args.split)


def counts_from_args(args: argparse.Namespace):
    """The count table of the one vote source named on the command line."""
    from ..features.store_votes import open_any_votes

    source, options = _source(args)
    return open_any_votes(source, **options).counts()


def _rule(agreement: float) -> str:
    return "every rater agrees (agreement 1)" if agreement == 1.0 else f"top emotion >= {agreement:.0%} of the votes"


def crema_d_comparison(path: str, modality: str, chosen: float) -> str:
    """The clear/ambiguous counts of CREMA-D under the chosen rule and under the other reference rule."""
    from ..corpora import crema_d

    rules = [chosen] + [a for a in (crema_d.DEFAULT_AGREEMENT, 1.0) if a != chosen][:1]
    lines = ["rules compared (clear: the top emotion's share of the votes reaches the agreement; ambiguous: the "
             "top two together do)",
             f"{'rule':<44}{'clear':>7}" + "".join(f"{c:>6}" for c in crema_d.CLASSES)
             + f"{'ambiguous':>11}{'ties':>6}{'other':>7}"]
    for a in rules:
        c = crema_d.stats(path, modality, a)
        tag = " (default)" if a == crema_d.DEFAULT_AGREEMENT else ""
        lines.append(f"{(_rule(a) + tag):<44}{c.n_clear:>7}" + "".join(f"{n:>6}" for n in c.clear)
                     + f"{c.n_ambiguous:>11}{c.ties:>6}{c.other:>7}")
    return "\n".join(lines)


def cmd_stats(args: argparse.Namespace) -> int:
    counts = counts_from_args(args)
    if args.json:
        print(json.dumps(counts.to_dict()))
        return 0
    agreement = args.agreement
    if args.crema_d and agreement is None:
        from ..config import DEFAULT_AGREEMENT

        agreement = DEFAULT_AGREEMENT
    other = "more than two emotions" if agreement in (None, 1.0) else "other (below the agreement)"
    print(counts.format(other_label=other))
    if args.crema_d:
        print("\n" + crema_d_comparison(args.crema_d, args.modality, agreement))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from ..config import sampler_defaults
    from ..pdds.registry import plan_for

    counts = counts_from_args(args)
    takes = sampler_defaults(args.strategy)
    params = {k: getattr(args, k) for k in PLAN_SAMPLER_OPTIONS
              if k in takes and getattr(args, k) is not None}
    plan = plan_for(args.strategy, counts, **params)
    print(json.dumps(plan.to_dict()) if args.json else plan.format())
    return 0


def add_stats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="clear/ambiguous vote statistics of IEMOCAP, CREMA-D or the packaged counts",
                       description="Count clear and ambiguous utterances (per emotion and emotion pair) under a "
                                   "vote policy.", epilog=STATS_EPILOG, formatter_class=Formatter)
    add_vote_source(p, counts=False)
    p.add_argument("--json", action="store_true", help="print one JSON object (n_utterances, clear, ambiguous, "
                                                       "ties, other, excluded)")
    p.set_defaults(func=cmd_stats)


def add_plan(sub: argparse._SubParsersAction) -> None:
    from ..config import strategies

    p = sub.add_parser("plan", help="what a resampling strategy adds to given counts",
                       description="The training-set plan of a strategy: balanced clear counts, the target of "
                                   "every emotion pair, and how many samples it adds.",
                       epilog=PLAN_EPILOG, formatter_class=Formatter)
    add_vote_source(p, counts=True)
    p.add_argument("--strategy", default="pdds", choices=list(strategies()), help="resampling strategy (default %(default)s)")
    add_sampler_options(p, PLAN_SAMPLER_OPTIONS)
    p.add_argument("--json", action="store_true", help="print one JSON object (balanced_clear, targets, new_samples)")
    p.set_defaults(func=cmd_plan)
