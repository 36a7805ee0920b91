"""``pdds stats`` and ``pdds plan``: vote statistics and what a strategy adds (core install only)."""

from __future__ import annotations

import argparse
import json
from typing import Any

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
  pdds plan                                       # the packaged IEMOCAP counts (--reference train)
  pdds plan --reference train
  pdds plan --counts counts.json --sigma 2 --normalize sum --json
  pdds plan --reference train --strategy uniform --level 400
  pdds plan --store /data/crema-d-store           # what PDDS adds to a store's training split
  pdds plan --reference train --strategy uniform --pairs unordered --json
"""


#: The sampler options of ``pdds plan`` (:func:`pddslib.cli._common.add_sampler_options`).
PLAN_SAMPLER_OPTIONS = ("sigma", "normalize", "level", "pairs")


def _chosen(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The corpus whose vote flag is given (None: a store, counts or the reference) and its value,
    checking that exactly one source of votes is given (``pdds plan`` with none: ``--reference train``)."""
    from ..features.corpus_kinds import kinds

    given = [(k, getattr(args, k.vote_flag.dest, None)) for k in kinds() if k.vote_flag is not None]
    others = [("--store STORE", args.store), ("--reference train|test|all", args.reference)]
    if hasattr(args, "counts"):
        others.insert(1, ("--counts FILE.json", args.counts))
    if getattr(args, "default_reference", False) and not any(v for _, v in given + others):
        args.reference = "train"   # pdds plan: the packaged IEMOCAP counts of sessions 1-4 by default
        others = [(u, args.reference if u.startswith("--reference") else v) for u, v in others]
    if sum(bool(v) for _, v in given + others) != 1:
        names = [k.vote_flag.usage for k, _ in given] + [u for u, _ in others]
        raise UsageError(f"give exactly one source of votes: {', '.join(names[:-1])} or {names[-1]}")
    return next(((k, v) for k, v in given if v), (None, None))


def counts_from_args(args: argparse.Namespace):
    """The count table of the one vote source named on the command line."""
    from ..corpora import source_from_flags
    from ..features.store_votes import open_any_votes

    kind, value = _chosen(args)
    if kind is not None:
        return kind.votes(value, args).counts()
    source, options = source_from_flags(counts=getattr(args, "counts", None), reference=args.reference,
                                        store=args.store, split=args.split)
    return open_any_votes(source, **options).counts()


def cmd_stats(args: argparse.Namespace) -> int:
    counts = counts_from_args(args)
    if args.json:
        print(json.dumps(counts.to_dict()))
        return 0
    kind, value = _chosen(args)
    agreement = args.agreement
    if kind is not None and agreement is None:
        agreement = kind.default_agreement
    other = "more than two emotions" if agreement in (None, 1.0) else "other (below the agreement)"
    print(counts.format(other_label=other))
    extra = kind.stats_extra(value, args, agreement) if kind is not None else ""
    if extra:
        print("\n" + extra)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from ..config import sampler_defaults
    from ..pdds.registry import plan_for

    counts = counts_from_args(args)
    takes = sampler_defaults(args.strategy)
    given = {k: getattr(args, k) for k in PLAN_SAMPLER_OPTIONS if getattr(args, k) is not None}
    ignored = [k for k in given if k not in takes]
    if ignored:  # never dropped silently
        raise UsageError(f"strategy {args.strategy} takes no {', '.join('--' + k for k in ignored)} "
                         f"(its options: {', '.join('--' + k for k in PLAN_SAMPLER_OPTIONS if k in takes) or 'none'})")
    params = given
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
    p.add_argument("--strategy", default="pdds", choices=list(strategies()),
                   help="resampling strategy (default %(default)s)")
    add_sampler_options(p, PLAN_SAMPLER_OPTIONS)
    p.add_argument("--json", action="store_true", help="print one JSON object (strategy, params, balanced_clear, "
                                                       "targets, new_samples)")
    p.set_defaults(func=cmd_plan, default_reference=True)
