"""``pdds extract``: data2vec-audio + BERT features of an IEMOCAP release into a feature store.

What is stored: exactly the 6-class utterances of :func:`pddslib.corpora.iemocap.six_class_frame`
(manifest columns copied from it), with ``audio`` = the data2vec-audio conv-encoder frames as
``transformers`` returns them in ``extract_features`` (512-d, 20 ms; :mod:`pddslib.features.audio`)
and ``text`` = BERT's last layer per word piece (768-d; :mod:`pddslib.features.text`). The
dimensions come from the models; the fast batched pipeline is :mod:`pddslib.features.pipeline`.

Missing inputs
--------------
- a 6-class utterance without a wav file: an error listing the first missing files and their count
  (nothing is extracted); an unreadable wav, or one shorter than the model's 25 ms receptive field:
  an error naming the file; a wav whose features are not finite: an error naming it;
- a 6-class utterance without a transcript line: an error naming the transcript file and the
  utterance; an empty transcript: kept, its text sequence is the ``[CLS]`` vector (counted);
- transcript lines that are not utterances (``M: Yeah.``, ``..._MXX0``): skipped and counted;
- a wav at another sample rate: resampled to 16 kHz (counted); several channels: averaged.

When is a store up to date?
---------------------------
The store records (``store.json``, ``config``) the settings that determine the features (models,
audio layer, dtype, sessions, pddslib version), the vote policy, and the identity of its inputs:
a hash of the EmoEvaluation files (``inputs.annotations``) and a content hash of every wav and
transcript used (``inputs.features``). A rerun of the same command is "up to date" only when all
of these match and the store's files are intact. When only the labels changed (an edited
EmoEvaluation file, another ``--policy``) and the utterance list and audio did not, the manifest is
re-derived and the features are kept (labels are cheap, features are not). Changed wavs or
transcripts extract again; other settings need ``--overwrite``.

Interrupting and resuming: :mod:`pddslib.features.shards`. The configuration recorded in the
store is what determines the numbers; device, batch size, workers and shard size only change
float noise, so they are not part of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .audio import SAMPLE_RATE, AudioFileError, WavInfo, wav_info
from .hub import model_identity
from .pipeline import audio_features, default_threads, text_features
from .shards import ShardSet, config_diff
from .store import FeatureStore, StoreError, config_hash, write_store

DEFAULT_AUDIO_MODEL = "facebook/data2vec-audio-base"
DEFAULT_TEXT_MODEL = "bert-base-uncased"
STORE_DTYPES = ("float16", "float32")
MAX_LISTED = 5
#: Config entries that do not change the features (a difference re-derives the labels only).
LABEL_KEYS = ("policy", "inputs")


# -- configuration --------------------------------------------------------------------------------

def extraction_config(*, sessions: Sequence[int], audio_model: str | Path, text_model: str | Path,
                      audio_layer: str | int, policy: Any, dtype: str) -> dict[str, Any]:
    """The configuration that determines the features and labels (recorded in the store and hashed)."""
    from .. import __version__
    from ..labels import VotePolicy

    pol = VotePolicy.named(policy) if isinstance(policy, str) else policy
    return {
        "corpus": "iemocap",
        "sessions": sorted(int(s) for s in sessions),
        "policy": dataclasses.asdict(pol),
        "audio_model": model_identity(audio_model),
        "audio_layer": audio_layer if audio_layer == "cnn" else int(audio_layer),
        "audio_features": ("extract_features: conv feature encoder + feature-projection LayerNorm"
                           if audio_layer == "cnn" else "hidden_states[layer]"),
        "text_model": model_identity(text_model),
        "text_tokens": "word pieces; [CLS]/[SEP] dropped; [CLS] kept for an empty transcript",
        "sample_rate": SAMPLE_RATE,
        "dtype": dtype,
        "pddslib": __version__,
    }


def _feature_settings(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in LABEL_KEYS}


# -- the corpus's inputs --------------------------------------------------------------------------

@dataclass
class IemocapInputs:
    """The 6-class utterances of a release with their transcripts, wavs and input identity."""

    frame: pd.DataFrame
    texts: list[str]
    wavs: list[WavInfo]
    skipped_lines: int
    annotations: str = ""   # hash of the EmoEvaluation files
    features: str = ""      # content hash of the wavs and transcripts used

    @property
    def utt_ids(self) -> list[str]:
        return self.frame["utt_id"].tolist()


def _listing(items: list[str], total: int, what: str) -> str:
    shown = "\n  ".join(items[:MAX_LISTED])
    more = f"\n  ... and {total - MAX_LISTED} more" if total > MAX_LISTED else ""
    return f"{total} {what}:\n  {shown}{more}"


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _annotation_hash(root: Path, sessions: Sequence[int]) -> str:
    from ..corpora import iemocap

    h = hashlib.sha256()
    for f in iemocap.evaluation_files(root, sessions):
        h.update(f"{f.relative_to(root)}\0".encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def read_inputs(root: str | Path, sessions: Sequence[int], policy: Any, workers: int = 2) -> IemocapInputs:
    """Read the labels, transcripts and wav headers of the 6-class utterances; hash the inputs."""
    from ..corpora import iemocap
    from ..labels import VotePolicy

    root = Path(root)
    pol = VotePolicy.named(policy) if isinstance(policy, str) else policy
    frame = iemocap.six_class_frame(root, sessions, pol)
    if frame.empty:
        raise ValueError(f"{root}: no 6-class utterance in sessions {list(sessions)}")
    report = iemocap.read_transcripts(root, sessions)
    missing = [u for u in frame["utt_id"] if u not in report.texts]
    if missing:
        where = [f"{iemocap.transcript_path(root, u)}: no line for {u}" for u in missing]
        raise FileNotFoundError(_listing(where, len(missing), "6-class utterance(s) without a transcript line"))
    paths = [iemocap.wav_path(root, u) for u in frame["utt_id"]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(_listing(absent, len(absent), f"of {len(paths)} 6-class wav files are missing"))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        wavs = list(pool.map(wav_info, paths))
        digests = list(pool.map(_file_digest, paths))
    texts = [report.texts[u] for u in frame["utt_id"]]
    features = config_hash({"utt_ids": frame["utt_id"].tolist(), "texts": texts, "wavs": digests})
    return IemocapInputs(frame, texts, wavs, report.skipped, _annotation_hash(root, sessions), features)


def _manifest(frame: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    from .store import MANIFEST_COLUMNS

    extra = ["start", "end", "n_evaluators"] + [f"votes_{c}" for c in classes]
    cols = list(MANIFEST_COLUMNS) + [c for c in extra if c in frame.columns] + [f"dist_{c}" for c in classes]
    return frame[cols].reset_index(drop=True).copy()


# -- what to do with an existing store --------------------------------------------------------------

def _existing(out: Path, config: dict[str, Any], inputs: IemocapInputs, overwrite: bool,
              log: Callable[[str], Any]) -> str:
    """``"new"``, ``"up-to-date"``, ``"relabel"`` or ``"extract"`` for the store at ``out``."""
    if not out.exists():
        return "new"
    if not (out / "store.json").is_file():
        raise FileExistsError(f"{out}: exists and is not a feature store (no store.json); choose another --out")
    try:
        store = FeatureStore.open(out, validate=False)
    except StoreError as err:
        log(f"{out}: the existing store is damaged ({err}); extracting again")
        return "extract"
    old = store.meta.get("config", {})
    if _feature_settings(old) != _feature_settings(config):
        if not overwrite:
            raise StoreError(f"{out}: holds features extracted with other settings "
                             f"({config_diff(_feature_settings(old), _feature_settings(config))}); pass "
                             f"--overwrite to replace it, or choose another --out")
        return "extract"
    old_inputs = old.get("inputs", {})
    if old_inputs.get("features") != inputs.features or store.manifest["utt_id"].tolist() != inputs.utt_ids:
        log(f"{out}: the wavs, transcripts or utterance list changed since extraction; extracting again")
        return "extract"
    if old == config and _labels_match(store, inputs):
        return "up-to-date"
    return "relabel"


def _expected_manifest(store: FeatureStore, inputs: IemocapInputs) -> pd.DataFrame:
    """The manifest the annotations give now, with the store's sequence lengths."""
    manifest = _manifest(inputs.frame, store.classes)
    for mod in store.modalities:
        manifest[f"{mod}_len"] = store.manifest[f"{mod}_len"].to_numpy()
    return manifest


def _labels_match(store: FeatureStore, inputs: IemocapInputs) -> bool:
    """Whether the store's manifest holds the labels the annotations give now (a hand edit shows)."""
    from .fingerprint import manifest_digest

    mods = list(store.modalities)
    return (manifest_digest(store.manifest, store.classes, mods)
            == manifest_digest(_expected_manifest(store, inputs), store.classes, mods))


def _relabel(out: Path, inputs: IemocapInputs, config: dict[str, Any]) -> None:
    """Write the new labels into the store; the feature arrays are kept as they are."""
    from .store import rewrite_manifest

    rewrite_manifest(out, _expected_manifest(FeatureStore.open(out, validate=False), inputs), config)


# -- extraction -------------------------------------------------------------------------------------

@dataclass
class _Totals:
    """What this run did (the per-shard statistics live in the shards' meta.json)."""

    extracted: int = 0
    shards_done_before: int = 0
    audio_seconds: float = 0.0
    truncated_text: int = 0
    dims: dict[str, int] = field(default_factory=dict)


def _load_encoders(audio_model: Any, text_model: Any, audio_layer: Any, device: str, inputs: IemocapInputs):
    from ..device import resolve_device
    from .audio import AudioEncoder
    from .text import TextEncoder

    dev = resolve_device(device)
    audio = AudioEncoder.from_pretrained(audio_model, layer=audio_layer, device=dev)
    short = [str(w.path) for w in inputs.wavs if w.samples_at(SAMPLE_RATE) < audio.min_samples]
    if short:
        raise AudioFileError(_listing(short, len(short), f"wav(s) shorter than the audio model's receptive "
                                                         f"field ({audio.min_samples} samples at 16 kHz)"))
    return dev, audio, TextEncoder.from_pretrained(text_model, device=dev)


def _extract_shards(shards: ShardSet, todo: list[int], chunks: list[np.ndarray], inputs: IemocapInputs,
                    encoders: tuple, dtype: str, *, batch_seconds: float | None, threads: int | None,
                    workers: int, progress: bool, totals: _Totals) -> None:
    """Extract and write the shards in ``todo`` (a progress bar over every utterance)."""
    from tqdm import tqdm

    dev, audio, text = encoders
    n_threads = default_threads(dev) if threads is None else max(1, int(threads))
    n = len(inputs.utt_ids)
    t_start = time.perf_counter()
    with tqdm(total=n, initial=n - sum(len(chunks[k]) for k in todo), unit="utt", desc="pdds extract",
              disable=not progress, dynamic_ncols=True, smoothing=0.05) as bar:
        def on_batch(n_utts: int, seconds: float) -> None:
            totals.audio_seconds += seconds
            bar.update(n_utts)
            rate = totals.audio_seconds / max(1e-9, time.perf_counter() - t_start)
            bar.set_postfix_str(f"{rate:.1f}x real time", refresh=False)

        for k in todo:
            idx = chunks[k]
            got = audio_features(audio, [inputs.wavs[i] for i in idx], batch_seconds=batch_seconds,
                                 threads=n_threads, workers=workers, on_batch=on_batch)
            t_feats, n_empty, n_truncated = text_features(text, [inputs.texts[i] for i in idx], threads=n_threads)
            totals.truncated_text += n_truncated
            stats = {"audio_dim": audio.dim, "text_dim": text.dim, "resampled": got.resampled,
                     "audio_seconds": got.seconds, "empty_text": n_empty, "truncated_text": n_truncated}
            shards.write(k, [inputs.utt_ids[i] for i in idx], [str(inputs.wavs[i].path) for i in idx],
                         {"audio": got.features, "text": t_feats}, dtype, stats)
            totals.extracted += len(idx)


def _assemble(out: Path, shards: ShardSet, n_shards: int, inputs: IemocapInputs, config: dict[str, Any],
              dtype: str) -> dict[str, int]:
    """Stream the shards into the store; returns the summed per-shard statistics."""
    from ..labels import CLASSES

    lens: dict[str, list[int]] = {"audio": [], "text": []}
    stats = {"resampled": 0, "empty_text": 0, "truncated_text": 0}
    dims: tuple[int, int] | None = None
    for k in range(n_shards):
        meta = shards.meta(k)
        for key in stats:
            stats[key] += int(meta.get(key, 0))
        these = (int(meta["audio_dim"]), int(meta["text_dim"]))
        if dims is not None and these != dims:
            raise StoreError(f"{shards.shard_dir(k)}: dimensions {these} differ from the earlier shards' {dims} "
                             f"(did a model folder change?); delete {shards.path} and extract again")
        dims = these
        for mod in lens:
            lens[mod].extend(shards.lengths(k, mod))
    assert dims is not None
    manifest = _manifest(inputs.frame, CLASSES)
    for mod in lens:
        manifest[f"{mod}_len"] = np.asarray(lens[mod], dtype=np.int64)
    write_store(out, manifest, {m: shards.sequences(n_shards, m) for m in ("audio", "text")},
                classes=CLASSES, dims={"audio": dims[0], "text": dims[1]}, config=config,
                corpus="iemocap", synthetic=False, dtype=dtype, overwrite=out.exists())
    return stats


def extract(root: str | Path, out: str | Path, *, sessions: Sequence[int] = (1, 2, 3, 4, 5),
            audio_model: str | Path = DEFAULT_AUDIO_MODEL, text_model: str | Path = DEFAULT_TEXT_MODEL,
            audio_layer: str | int = "cnn", device: str = "auto", batch_seconds: float | None = None,
            workers: int = 2, threads: int | None = None, dtype: str = "float16", shard_size: int = 500,
            policy: Any = "default", overwrite: bool = False, progress: bool = True,
            log: Callable[[str], Any] | None = None) -> Path:
    """Extract audio and text features of IEMOCAP's 6-class utterances into a feature store.

    Parameters
    ----------
    root : str or Path
        The IEMOCAP release folder (holds ``Session1`` .. ``Session5``).
    out : str or Path
        The store folder to write (work in progress goes to ``<out>.partial``).
    sessions : sequence of int
        Sessions to extract (1-4 are ``train``, 5 is ``test``).
    audio_model, text_model : str or Path
        Hub names or local folders (any wav2vec2-family / BERT-family checkpoint).
    audio_layer : "cnn" or int
        ``"cnn"``: the conv feature encoder's output (the paper's 512-d features); an int ``i``:
        the transformer's ``hidden_states[i]``.
    device : str
        ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda:0"``, ...
    batch_seconds : float, optional
        Padded audio seconds per batch (default by device:
        :data:`pddslib.features.pipeline.BATCH_SECONDS`).
    workers : int
        Threads that read and hash wavs and prepare them ahead of the model (GPU).
    threads : int, optional
        Concurrent model calls; default: one per torch thread on a CPU, one on a GPU.
    dtype : {"float16", "float32"}
        Storage dtype of the features.
    shard_size : int
        Utterances per shard (the unit of resumption).
    policy : str or VotePolicy
        Vote policy of the label distributions (see :class:`pddslib.labels.VotePolicy`).
    overwrite : bool
        Replace a store in ``out`` that was extracted with other settings.
    progress : bool
        Show a progress bar (stderr).
    log : callable, optional
        Receives the one-line messages (up to date, relabelled, the final summary); None: silent.

    Returns
    -------
    Path
        The store folder.
    """
    t0 = time.perf_counter()
    say = log if log is not None else (lambda _msg: None)
    root, out = Path(root), Path(out)
    if dtype not in STORE_DTYPES:
        raise ValueError(f"dtype must be one of {STORE_DTYPES}, got {dtype!r}")
    if shard_size < 1 or workers < 0:
        raise ValueError(f"shard_size must be >= 1 and workers >= 0 (got {shard_size}, {workers})")
    inputs = read_inputs(root, tuple(sessions), policy, workers)
    config = extraction_config(sessions=sessions, audio_model=audio_model, text_model=text_model,
                               audio_layer=audio_layer, policy=policy, dtype=dtype)
    config["inputs"] = {"annotations": inputs.annotations, "features": inputs.features}
    shards = ShardSet(out.with_name(out.name + ".partial"))
    status = _existing(out, config, inputs, overwrite, say)
    if status in ("up-to-date", "relabel"):
        if shards.path.exists():
            shards.remove()
            say(f"{shards.path}: removed a leftover unfinished extraction (the store is complete)")
        if status == "relabel":
            _relabel(out, inputs, config)
            say(f"{out}: labels re-derived from the annotations (vote policy or EmoEvaluation files changed); "
                f"features kept; config {config_hash(config)}")
        else:
            say(f"{out}: up to date (config {config_hash(config)}, inputs unchanged); nothing to do")
        return out

    utt_ids = inputs.utt_ids
    # the shards hold features only: labels (policy, annotations) are derived at assembly
    resumed_size = shards.check(_feature_settings(config), utt_ids, inputs.features)
    shard_size = resumed_size or shard_size
    n = len(utt_ids)
    chunks = [np.arange(s, min(n, s + shard_size)) for s in range(0, n, shard_size)]
    todo = [k for k, idx in enumerate(chunks) if not shards.done(k, [utt_ids[i] for i in idx])]
    totals = _Totals(shards_done_before=len(chunks) - len(todo))
    if todo:
        encoders = _load_encoders(audio_model, text_model, audio_layer, device, inputs)
        if resumed_size is None:
            shards.create(_feature_settings(config), utt_ids, inputs.features, shard_size)
        _extract_shards(shards, todo, chunks, inputs, encoders, dtype, batch_seconds=batch_seconds,
                        threads=threads, workers=workers, progress=progress, totals=totals)
        if totals.truncated_text:
            warnings.warn(f"{totals.truncated_text} transcript(s) longer than the text model's maximum input "
                          f"were truncated", stacklevel=2)
    stats = _assemble(out, shards, len(chunks), inputs, config, dtype)
    shards.remove()
    say(_summary(out, inputs, stats, totals, len(chunks), time.perf_counter() - t0))
    return out


def _summary(out: Path, inputs: IemocapInputs, stats: dict[str, int], totals: _Totals, n_shards: int,
             seconds: float) -> str:
    info = FeatureStore.open(out, validate=False).info()
    multi = sum(w.channels > 1 for w in inputs.wavs)
    resumed = (f" (resumed: {totals.shards_done_before} of {n_shards} shards were done)"
               if totals.shards_done_before else "")
    split = info["split"]
    return (f"{out}: {info['n_utterances']} utterances (train {split['train']}, test {split['test']}); "
            f"audio {info['dims']['audio']}-d, text {info['dims']['text']}-d; "
            f"{stats['resampled']} resampled wav(s)"
            + (f", {multi} multi-channel wav(s) averaged" if multi else "")
            + f"; {inputs.skipped_lines} non-utterance transcript line(s) skipped; "
            f"{stats['empty_text']} empty transcript(s); "
            f"{seconds:.1f} s, {totals.extracted / max(seconds, 1e-9):.1f} utterances/s{resumed}")
