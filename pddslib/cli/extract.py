"""``pdds extract``: data2vec (+ BERT) features of IEMOCAP, CREMA-D or any corpus (a manifest CSV) into a store."""

from __future__ import annotations

import argparse
import json

from ._common import Formatter, add_device, add_policy, agreement, needs_extra, positive_int, sessions

EPILOG = """examples:
  pdds extract --iemocap /data/IEMOCAP_full_release --out /data/pdds-store
  pdds extract --iemocap ROOT --out STORE --device cuda --batch-seconds 120
  pdds extract --iemocap ROOT --out STORE --audio-model ./data2vec-local --text-model ./bert-local
  pdds extract --crema-d /data/CREMA-D --out /data/crema-d-store            # audio only
  pdds extract --manifest data.csv --out STORE                              # any corpus (see the book)
  pdds extract --manifest data.csv --out STORE --agreement 0.8 --no-text

CREMA-D: ROOT holds AudioWAV/ and processedResults/tabulatedVotes.csv; voice-only votes, clear when
the top emotion has >= 80 % of them (--agreement), actors 1001-1064 train and 1065-1091 test.
A manifest: one row per utterance with path, votes_<class> | dist_<class> | label, and optional
text, split, speaker, utt_id (the book's "Your own corpus" page).

Interrupt at any time: rerunning the same command resumes from the finished shards. Rerunning
a finished extraction checks its inputs and says "up to date", re-derives only the labels when
the annotations or --policy changed, or extracts again when wavs or transcripts changed.
"""


def _layer(text: str) -> str | int:
    if text == "cnn":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'cnn' or an integer, got {text!r}") from None


@needs_extra("extract")
def cmd_extract(args: argparse.Namespace) -> int:
    import soundfile  # noqa: F401  (the ml extra: checked before any work)
    import torch  # noqa: F401
    import transformers

    if args.no_progress:  # also no "Loading weights" bars from transformers
        transformers.utils.logging.disable_progress_bar()

    from ..features.corpus_kinds import kinds
    from ..features.store import FeatureStore

    messages: list[str] = []
    log = messages.append if args.json else print
    common = dict(audio_model=args.audio_model, audio_layer=args.audio_layer, device=args.device,
                  batch_seconds=args.batch_seconds, workers=args.workers, threads=args.threads, dtype=args.dtype,
                  shard_size=args.shard_size, overwrite=args.overwrite, progress=not args.no_progress, log=log)
    kind, value = next((k, getattr(args, k.extract_flag.dest)) for k in kinds()
                       if k.extract_flag is not None and getattr(args, k.extract_flag.dest, None) is not None)
    out = kind.extract(value, args.out, args, common)
    if args.json:
        info = FeatureStore.open(out, validate=False).info()
        print(json.dumps({"store": str(out), "messages": messages, **info}))
    return 0


def add_extract(sub: argparse._SubParsersAction) -> None:
    from ..features.corpus_kinds import kinds
    from ..features.extract import DEFAULT_AUDIO_MODEL, DEFAULT_TEXT_MODEL, STORE_DTYPES
    from ..features.pipeline import BATCH_SECONDS

    p = sub.add_parser("extract", help="data2vec (+ BERT) features of IEMOCAP, CREMA-D or a manifest into a store",
                       description="Extract data2vec-audio conv-encoder frames (and BERT word-piece vectors where "
                                   "there are transcripts) of a corpus into a feature store (resumable).",
                       epilog=EPILOG, formatter_class=Formatter)
    src = p.add_argument_group("corpus (exactly one)").add_mutually_exclusive_group(required=True)
    for kind in kinds():  # each corpus's own flag (--iemocap ROOT, --crema-d ROOT, --manifest CSV, ...)
        if kind.extract_flag is not None:
            src.add_argument(kind.extract_flag.name, metavar=kind.extract_flag.metavar, help=kind.extract_flag.help)
    p.add_argument("--out", required=True, metavar="STORE", help="feature store folder to write")
    g = p.add_argument_group("labels of CREMA-D and manifests")
    g.add_argument("--agreement", type=agreement, default=None,
                   help="clear when the top class has at least this share of the votes, in (0.5, 1] "
                        "(default: 0.8 for CREMA-D, 1 = every vote agrees for a manifest)")
    g.add_argument("--no-text", action="store_true", help="manifest: audio only, even with a text column")
    g.add_argument("--classes", metavar="A,B,...", help="manifest with hard labels only: the classes, in order")
    g.add_argument("--votes", metavar="CSV", help="CREMA-D: another tabulatedVotes.csv than ROOT's")
    g.add_argument("--exclude", metavar="CLIP,...", help="CREMA-D: clips to leave out (e.g. a damaged wav)")
    p.add_argument("--audio-model", default=DEFAULT_AUDIO_MODEL,
                   help=f"wav2vec2-family checkpoint, hub name or folder (default {DEFAULT_AUDIO_MODEL})")
    p.add_argument("--text-model", default=DEFAULT_TEXT_MODEL,
                   help=f"BERT-family checkpoint, hub name or folder (default {DEFAULT_TEXT_MODEL})")
    p.add_argument("--audio-layer", type=_layer, default="cnn",
                   help="'cnn' (conv feature encoder, the paper's 512-d) or i for hidden_states[i] "
                        "(default %(default)s)")
    every = (1, 2, 3, 4, 5)
    p.add_argument("--sessions", type=sessions, default=every, help=f"sessions (default {','.join(map(str, every))})")
    add_policy(p)
    add_device(p)
    p.add_argument("--batch-seconds", type=float, default=None,
                   help=f"padded audio seconds per batch (default {BATCH_SECONDS['cpu']:g} on CPU, "
                        f"{BATCH_SECONDS['cuda']:g} on CUDA)")
    p.add_argument("--workers", type=int, default=2, help="threads reading and hashing wavs (default %(default)s)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="concurrent model calls (default: one per CPU core on a CPU, 1 on a GPU)")
    p.add_argument("--dtype", choices=list(STORE_DTYPES), default="float16", help="storage dtype (default %(default)s)")
    p.add_argument("--shard-size", type=positive_int, default=500,
                   help="utterances per resumable shard (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace a store made with other settings")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON object (the store's info and the messages)")
    p.set_defaults(func=cmd_extract)
