"""``pdds demo``, ``pdds info`` and ``pdds download``: feature stores and cached corpus files."""

from __future__ import annotations

import argparse
import json

from ._common import Formatter, agreement, needs_extra

DEMO_EPILOG = """examples:
  pdds demo --out /tmp/demo-store
  pdds demo --out /tmp/demo-iemocap-size --scale 1.0
  pdds demo --crema-d --out /tmp/crema-d-demo        # real CREMA-D votes, SYNTHETIC audio (needs the ml extra)
  pdds run --corpus /tmp/crema-d-demo --model cltnet_audio --strategy pdds --out runs/
"""

INFO_EPILOG = """examples:
  pdds info /data/pdds-store
  pdds info /data/pdds-store --json
  pdds info /data/pdds-store --verify      # rehash every array against the recorded fingerprint
"""

DOWNLOAD_EPILOG = """examples:
  pdds download
  PDDS_CACHE=/data/cache pdds download --force
"""


def cmd_demo(args: argparse.Namespace) -> int:
    from ..features.corpus_kinds import DEFAULT, get, kinds
    from ..features.store import FeatureStore

    flagged = [k for k in kinds() if k.demo_flag is not None and getattr(args, k.demo_flag.dest, False)]
    if flagged:  # another demo than the default (pdds demo --crema-d): it may need the ml extra
        kind = flagged[0]
        path = needs_extra(f"demo {kind.demo_flag.name}")(lambda a: kind.write_demo(a.out, a))(args)
    else:
        path = get(DEFAULT).write_demo(args.out, args)
    print(FeatureStore.open(path).summary())
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..features.store import FeatureStore

    store = FeatureStore.open(args.store, validate=not args.no_validate)
    if args.verify:
        store.verify()
    info = store.info()
    if args.verify:
        info["verified"] = True
    if args.json:
        print(json.dumps(info))
    else:
        print(store.summary() + ("; every array rehashed: matches its fingerprint" if args.verify else ""))
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from ..corpora import crema_d

    print(crema_d.download(args.cache, force=args.force))
    return 0


def add_demo(sub: argparse._SubParsersAction) -> None:
    from ..config import DEFAULT_AGREEMENT, DEFAULT_SCALE
    from ..features.corpus_kinds import kinds

    p = sub.add_parser("demo", help="write the synthetic demo corpus (or the CREMA-D demo) as a feature store",
                       description="Generate the synthetic, IEMOCAP-shaped demo corpus (not IEMOCAP's data) "
                                   "and write it as a feature store.", epilog=DEMO_EPILOG, formatter_class=Formatter)
    p.add_argument("--out", required=True, metavar="STORE", help="store folder to create (must not exist)")
    p.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                   help=f"size as a fraction of IEMOCAP's (default {DEFAULT_SCALE:g}; 1 = IEMOCAP's size)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default %(default)s)")
    g = p.add_argument_group("the CREMA-D demo (real crowd votes, generated audio, a random audio encoder)")
    for kind in kinds():  # each demo's own switch (--crema-d)
        if kind.demo_flag is not None:
            g.add_argument(kind.demo_flag.name, action="store_true", help=kind.demo_flag.help)
    g.add_argument("--quick", action="store_true", help="four actors instead of ten")
    g.add_argument("--votes", metavar="CSV", help="votes from this tabulatedVotes.csv (default: the packaged rows)")
    g.add_argument("--agreement", type=agreement, default=None,
                   help=f"clear-sample threshold (default {DEFAULT_AGREEMENT:g})")
    p.set_defaults(func=cmd_demo)


def add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe and check a feature store",
                       description="Describe a feature store and check it: files, sizes, labels, fingerprint.",
                       epilog=INFO_EPILOG, formatter_class=Formatter)
    p.add_argument("store", metavar="STORE", help="the store folder")
    p.add_argument("--json", action="store_true", help="print one JSON object (n_utterances, split, dims, config, ...)")
    p.add_argument("--verify", action="store_true",
                   help="rehash every array and compare with the fingerprint recorded at assembly")
    p.add_argument("--no-validate", action="store_true", help="skip the NaN/inf scan of the arrays")
    p.set_defaults(func=cmd_info)


def add_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch CREMA-D's tabulatedVotes.csv into the local cache",
                       description="Download CREMA-D's crowd votes (ODbL) into the pddslib cache.",
                       epilog=DOWNLOAD_EPILOG, formatter_class=Formatter)
    p.add_argument("--cache", metavar="DIR", help="cache folder (default: $PDDS_CACHE, else ~/.cache/pddslib)")
    p.add_argument("--force", action="store_true", help="download again even when a verified copy is cached")
    p.set_defaults(func=cmd_download)
