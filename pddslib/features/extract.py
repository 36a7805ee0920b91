"""``pdds extract``: data2vec-audio (+ BERT) features of a corpus into a feature store.

What is stored (IEMOCAP): exactly the 6-class utterances of
:func:`pddslib.corpora.iemocap.six_class_frame` (manifest columns copied from it), with ``audio`` =
the data2vec-audio conv-encoder frames as ``transformers`` returns them in ``extract_features``
(512-d, 20 ms; :mod:`pddslib.features.audio`) and ``text`` = BERT's last layer per word piece
(768-d; :mod:`pddslib.features.text`). The dimensions come from the models; the fast batched
pipeline is :mod:`pddslib.features.pipeline`.

Other corpora go through the same machinery (:func:`extract_inputs`) from their own reader
(:mod:`pddslib.features.inputs`): :func:`extract_manifest` (any corpus from a CSV,
:mod:`pddslib.corpora.manifest`) and :func:`extract_crema_d` (a CREMA-D release, audio only).
An audio-only corpus loads no text model and its store holds only ``audio``.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..util.hashing import config_hash
from .audio import SAMPLE_RATE, AudioFileError
from .hub import model_identity
from .inputs import ExtractionInputs, features_hash, listing, read_wavs
from .pipeline import audio_features, default_threads, text_features
from .shards import ShardSet, config_diff
from .store import FeatureStore, StoreError, write_store

DEFAULT_AUDIO_MODEL = "facebook/data2vec-audio-base"
DEFAULT_TEXT_MODEL = "bert-base-uncased"
STORE_DTYPES = ("float16", "float32")
#: Config entries that do not change the features (a difference re-derives the labels only).
LABEL_KEYS = ("policy", "inputs")


# -- configuration --------------------------------------------------------------------------------

def extraction_config(*, sessions: Sequence[int], audio_model: str | Path, text_model: str | Path,
                      audio_layer: str | int, policy: Any, dtype: str) -> dict[str, Any]:
    """The configuration that determines the features and labels (recorded in the store and hashed)."""
    from ..pdds.labels import VotePolicy

    pol = VotePolicy.named(policy) if isinstance(policy, str) else policy
    return corpus_config("iemocap", {"sessions": sorted(int(s) for s in sessions)}, dataclasses.asdict(pol),
                         audio_model=audio_model, text_model=text_model, audio_layer=audio_layer, dtype=dtype)


def corpus_config(corpus: str, settings: dict[str, Any], policy: dict[str, Any], *, audio_model: str | Path,
                  text_model: str | Path | None, audio_layer: str | int, dtype: str) -> dict[str, Any]:
    """The recorded configuration of any corpus: ``settings`` determine the features with the models,
    ``policy`` only the labels (a change of it re-derives them); ``text_model`` None: audio only."""
    from .. import __version__

    config: dict[str, Any] = {"corpus": corpus, **settings, "policy": policy,
                              "audio_model": model_identity(audio_model),
                              "audio_layer": audio_layer if audio_layer == "cnn" else int(audio_layer),
                              "audio_features": ("extract_features: conv feature encoder + feature-projection "
                                                 "LayerNorm" if audio_layer == "cnn" else "hidden_states[layer]")}
    if text_model is not None:
        config["text_model"] = model_identity(text_model)
        config["text_tokens"] = "word pieces; [CLS]/[SEP] dropped; [CLS] kept for an empty transcript"
    return {**config, "sample_rate": SAMPLE_RATE, "dtype": dtype, "pddslib": __version__}


def _feature_settings(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in LABEL_KEYS}


# -- the corpus's inputs --------------------------------------------------------------------------

@dataclass
class IemocapInputs(ExtractionInputs):
    """The 6-class utterances of a release with their transcripts, wavs and input identity."""

    skipped_lines: int = 0   # transcript lines that are not utterances


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
    from ..pdds.labels import CLASSES, VotePolicy

    root = Path(root)
    pol = VotePolicy.named(policy) if isinstance(policy, str) else policy
    frame = iemocap.six_class_frame(root, sessions, pol)
    if frame.empty:
        raise ValueError(f"{root}: no 6-class utterance in sessions {list(sessions)}")
    report = iemocap.read_transcripts(root, sessions)
    missing = [u for u in frame["utt_id"] if u not in report.texts]
    if missing:
        where = [f"{iemocap.transcript_path(root, u)}: no line for {u}" for u in missing]
        raise FileNotFoundError(listing(where, len(missing), "6-class utterance(s) without a transcript line"))
    paths = [iemocap.wav_path(root, u) for u in frame["utt_id"]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(listing(absent, len(absent), f"of {len(paths)} 6-class wav files are missing"))
    wavs, digests = read_wavs(paths, workers)
    texts = [report.texts[u] for u in frame["utt_id"]]
    features = features_hash(frame["utt_id"].tolist(), texts, digests)
    return IemocapInputs(frame, texts, wavs, _annotation_hash(root, sessions), features, corpus="iemocap",
                         classes=CLASSES, skipped_lines=report.skipped)


def _manifest(frame: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    from .store import MANIFEST_COLUMNS

    extra = ["start", "end", "n_evaluators", "n_votes", "intended"] + [f"votes_{c}" for c in classes]
    cols = list(MANIFEST_COLUMNS) + [c for c in extra if c in frame.columns] + [f"dist_{c}" for c in classes]
    return frame[cols].reset_index(drop=True).copy()


# -- what to do with an existing store --------------------------------------------------------------

def _existing(out: Path, config: dict[str, Any], inputs: ExtractionInputs, overwrite: bool,
              log: Callable[[str], Any]) -> tuple[str, FeatureStore | None]:
    """``"new"``, ``"up-to-date"``, ``"relabel"`` or ``"extract"`` for the store at ``out``, with the
    opened store when there is a usable one."""
    if not out.exists():
        return "new", None
    if not (out / "store.json").is_file():
        raise FileExistsError(f"{out}: exists and is not a feature store (no store.json); choose another --out")
    try:
        store = FeatureStore.open(out, validate=False)
    except StoreError as err:
        log(f"{out}: the existing store is damaged ({err}); extracting again")
        return "extract", None
    old = store.meta.get("config", {})
    if _feature_settings(old) != _feature_settings(config):
        if not overwrite:
            raise StoreError(f"{out}: holds features extracted with other settings "
                             f"({config_diff(_feature_settings(old), _feature_settings(config))}); pass "
                             f"--overwrite to replace it, or choose another --out")
        return "extract", store
    old_inputs = old.get("inputs", {})
    if old_inputs.get("features") != inputs.features or store.manifest["utt_id"].tolist() != inputs.utt_ids:
        log(f"{out}: the wavs, transcripts or utterance list changed since extraction; extracting again")
        return "extract", store
    if tuple(store.classes) != tuple(inputs.classes) or tuple(store.modalities) != inputs.modalities:
        log(f"{out}: the classes or modalities changed since extraction; extracting again")
        return "extract", store
    if old == config and _labels_match(store, inputs):
        return "up-to-date", store
    return "relabel", store


def _expected_manifest(store: FeatureStore, inputs: ExtractionInputs) -> pd.DataFrame:
    """The manifest the annotations give now, with the store's sequence lengths."""
    manifest = _manifest(inputs.frame, store.classes)
    for mod in store.modalities:
        manifest[f"{mod}_len"] = store.manifest[f"{mod}_len"].to_numpy()
    return manifest


def _labels_match(store: FeatureStore, inputs: ExtractionInputs) -> bool:
    """Whether the store's manifest holds the labels the annotations give now (a hand edit shows)."""
    from .fingerprint import manifest_digest

    mods = list(store.modalities)
    return (manifest_digest(store.manifest, store.classes, mods)
            == manifest_digest(_expected_manifest(store, inputs), store.classes, mods))


def _relabel(store: FeatureStore, inputs: ExtractionInputs, config: dict[str, Any]) -> None:
    """Write the new labels into the store; the feature arrays are kept as they are."""
    from .store import rewrite_manifest

    rewrite_manifest(store, _expected_manifest(store, inputs), config)


# -- extraction -------------------------------------------------------------------------------------

@dataclass
class _Totals:
    """What this run did (the per-shard statistics live in the shards' meta.json)."""

    extracted: int = 0
    shards_done_before: int = 0
    audio_seconds: float = 0.0
    truncated_text: int = 0
    dims: dict[str, int] = field(default_factory=dict)


def _load_encoders(audio_model: Any, text_model: Any, audio_layer: Any, device: str, inputs: ExtractionInputs):
    """The device and encoders; no text encoder (None) for an audio-only corpus."""
    from ..util.device import resolve_device
    from .audio import AudioEncoder

    dev = resolve_device(device)
    audio = AudioEncoder.from_pretrained(audio_model, layer=audio_layer, device=dev)
    short = [str(w.path) for w in inputs.wavs if w.samples_at(SAMPLE_RATE) < audio.min_samples]
    if short:
        raise AudioFileError(listing(short, len(short), f"wav(s) shorter than the audio model's receptive "
                                                        f"field ({audio.min_samples} samples at 16 kHz)"))
    if inputs.texts is None:
        return dev, audio, None
    from .text import TextEncoder

    return dev, audio, TextEncoder.from_pretrained(text_model, device=dev)


def _extract_shards(shards: ShardSet, todo: list[int], chunks: list[np.ndarray], inputs: ExtractionInputs,
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
            stats = {"audio_dim": audio.dim, "resampled": got.resampled, "audio_seconds": got.seconds}
            seqs = {"audio": got.features}
            if text is not None:
                t_feats, n_empty, n_truncated = text_features(text, [inputs.texts[i] for i in idx],
                                                              threads=n_threads)
                totals.truncated_text += n_truncated
                stats.update(text_dim=text.dim, empty_text=n_empty, truncated_text=n_truncated)
                seqs["text"] = t_feats
            shards.write(k, [inputs.utt_ids[i] for i in idx], [str(inputs.wavs[i].path) for i in idx],
                         seqs, dtype, stats)
            totals.extracted += len(idx)


def _assemble(out: Path, shards: ShardSet, n_shards: int, inputs: ExtractionInputs, config: dict[str, Any],
              dtype: str) -> dict[str, int]:
    """Stream the shards into the store; returns the summed per-shard statistics."""
    mods = inputs.modalities
    lens: dict[str, list[int]] = {m: [] for m in mods}
    stats = {"resampled": 0, "empty_text": 0, "truncated_text": 0}
    dims: tuple[int, ...] | None = None
    for k in range(n_shards):
        meta = shards.meta(k)
        for key in stats:
            stats[key] += int(meta.get(key, 0))
        these = tuple(int(meta[f"{m}_dim"]) for m in mods)
        if dims is not None and these != dims:
            raise StoreError(f"{shards.shard_dir(k)}: dimensions {these} differ from the earlier shards' {dims} "
                             f"(did a model folder change?); delete {shards.path} and extract again")
        dims = these
        for mod in lens:
            lens[mod].extend(shards.lengths(k, mod))
    assert dims is not None
    manifest = _manifest(inputs.frame, inputs.classes)
    for mod in lens:
        manifest[f"{mod}_len"] = np.asarray(lens[mod], dtype=np.int64)
    write_store(out, manifest, {m: shards.sequences(n_shards, m) for m in mods},
                classes=inputs.classes, dims=dict(zip(mods, dims)), config=config,
                corpus=inputs.corpus, synthetic=inputs.synthetic, dtype=dtype, overwrite=out.exists())
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
        Vote policy of the label distributions (see :class:`pddslib.pdds.labels.VotePolicy`).
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
    root, out = Path(root), Path(out)
    _check_options(dtype, shard_size, workers)
    inputs = read_inputs(root, tuple(sessions), policy, workers)
    config = extraction_config(sessions=sessions, audio_model=audio_model, text_model=text_model,
                               audio_layer=audio_layer, policy=policy, dtype=dtype)
    return extract_inputs(inputs, out, config, audio_model=audio_model, text_model=text_model,
                          audio_layer=audio_layer, device=device, batch_seconds=batch_seconds, workers=workers,
                          threads=threads, dtype=dtype, shard_size=shard_size, overwrite=overwrite,
                          progress=progress, log=log)


def _check_options(dtype: str, shard_size: int, workers: int) -> None:
    if dtype not in STORE_DTYPES:
        raise ValueError(f"dtype must be one of {STORE_DTYPES}, got {dtype!r}")
    if shard_size < 1 or workers < 0:
        raise ValueError(f"shard_size must be >= 1 and workers >= 0 (got {shard_size}, {workers})")


def extract_inputs(inputs: ExtractionInputs, out: str | Path, config: dict[str, Any], *,
                   audio_model: str | Path = DEFAULT_AUDIO_MODEL, text_model: str | Path | None = DEFAULT_TEXT_MODEL,
                   audio_layer: str | int = "cnn", device: str = "auto", batch_seconds: float | None = None,
                   workers: int = 2, threads: int | None = None, dtype: str = "float16", shard_size: int = 500,
                   overwrite: bool = False, progress: bool = True,
                   log: Callable[[str], Any] | None = None) -> Path:
    """Extract the features of any corpus's inputs into a store (shards, resume, up to date, relabel).

    ``inputs`` come from a corpus reader (:mod:`pddslib.features.inputs`), ``config`` from
    :func:`corpus_config` (its ``policy`` entry holds what only changes the labels); the other
    parameters are :func:`extract`'s. ``text_model`` is not loaded for an audio-only corpus.
    """
    t0 = time.perf_counter()
    say = log if log is not None else (lambda _msg: None)
    out = Path(out)
    _check_options(dtype, shard_size, workers)
    config = dict(config)
    config["inputs"] = {"annotations": inputs.annotations, "features": inputs.features}
    shards = ShardSet(out.with_name(out.name + ".partial"))
    status, existing = _existing(out, config, inputs, overwrite, say)
    if status in ("up-to-date", "relabel"):
        if shards.path.exists():
            shards.remove()
            say(f"{shards.path}: removed a leftover unfinished extraction (the store is complete)")
        if status == "relabel":
            _relabel(existing, inputs, config)
            say(f"{out}: labels re-derived from the annotations ({inputs.label_sources} changed); "
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
    todo = [k for k, idx in enumerate(chunks) if not shards.done(k, [utt_ids[i] for i in idx], inputs.modalities)]
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


def _summary(out: Path, inputs: ExtractionInputs, stats: dict[str, int], totals: _Totals, n_shards: int,
             seconds: float) -> str:
    info = FeatureStore.open(out, validate=False).info()
    multi = sum(w.channels > 1 for w in inputs.wavs)
    resumed = (f" (resumed: {totals.shards_done_before} of {n_shards} shards were done)"
               if totals.shards_done_before else "")
    split = info["split"]
    dims = ", ".join(f"{m} {d}-d" for m, d in info["dims"].items())
    text = []
    if isinstance(inputs, IemocapInputs):
        text.append(f"{inputs.skipped_lines} non-utterance transcript line(s) skipped")
    if inputs.texts is not None:
        text.append(f"{stats['empty_text']} empty transcript(s)")
    if inputs.texts is None:
        text.append("audio only (no text model loaded)")
    return (f"{out}: {info['n_utterances']} utterances (train {split['train']}, test {split['test']}); "
            f"{dims}; {stats['resampled']} resampled wav(s)"
            + (f", {multi} multi-channel wav(s) averaged" if multi else "")
            + "".join(f"; {t}" for t in [*text, *inputs.notes])
            + f"; {seconds:.1f} s, {totals.extracted / max(seconds, 1e-9):.1f} utterances/s{resumed}")


# -- other corpora ------------------------------------------------------------------------------------

def extract_manifest(manifest: str | Path, out: str | Path, *, agreement: float = 1.0, text: bool = True,
                     classes: Sequence[str] | None = None, audio_model: str | Path = DEFAULT_AUDIO_MODEL,
                     text_model: str | Path = DEFAULT_TEXT_MODEL, audio_layer: str | int = "cnn",
                     dtype: str = "float16", workers: int = 2, **kwargs: Any) -> Path:
    """Extract the features of a manifest CSV's utterances (:mod:`pddslib.corpora.manifest`).

    Parameters
    ----------
    manifest : str or Path
        The CSV (one row per utterance: ``path``, labels, optional ``text``, ``split``, ...).
    agreement : float
        The clear-sample rule's threshold in (0.5, 1] (default 1: every vote agrees).
    text : bool
        Extract text features from the ``text`` column when there is one (False: audio only).
    classes : sequence of str, optional
        The classes of a ``label``-only manifest, in order.
    **kwargs
        The other options of :func:`extract` (``device``, ``shard_size``, ``overwrite``, ``log``, ...).
    """
    from .inputs_manifest import read_manifest_inputs

    _check_options(dtype, kwargs.get("shard_size", 500), workers)
    inputs, policy = read_manifest_inputs(manifest, agreement=agreement, text=text, classes=classes,
                                          workers=workers)
    config = corpus_config("manifest", {}, policy, audio_model=audio_model,
                           text_model=text_model if inputs.texts is not None else None,
                           audio_layer=audio_layer, dtype=dtype)
    return extract_inputs(inputs, out, config, audio_model=audio_model, text_model=text_model,
                          audio_layer=audio_layer, dtype=dtype, workers=workers, **kwargs)


def extract_crema_d(root: str | Path, out: str | Path, *, agreement: float | None = None,
                    votes: str | Path | None = None, exclude: Sequence[str] = (),
                    audio_model: str | Path = DEFAULT_AUDIO_MODEL,
                    audio_layer: str | int = "cnn", dtype: str = "float16", workers: int = 2,
                    synthetic: bool = False, **kwargs: Any) -> Path:
    """Extract the audio features of a CREMA-D release into an audio-only store (:mod:`.inputs_crema_d`).

    Parameters
    ----------
    root : str or Path
        The release folder, holding ``AudioWAV/<clip>.wav`` and
        ``processedResults/tabulatedVotes.csv``.
    agreement : float, optional
        The clear-sample threshold (default :data:`pddslib.corpora.crema_d.DEFAULT_AGREEMENT`).
    votes : str or Path, optional
        Another ``tabulatedVotes.csv`` (default: the one in ``root``).
    exclude : sequence of str
        Clips to leave out (e.g. a damaged wav of your copy), by name (``1076_MTI_NEU_XX``).
    synthetic : bool
        Mark the store as generated data (the demo tree of :mod:`pddslib.corpora.crema_d_demo`).
    **kwargs
        The other options of :func:`extract` (``device``, ``shard_size``, ``overwrite``, ``log``, ...).
    """
    from .inputs_crema_d import read_crema_d_inputs

    _check_options(dtype, kwargs.get("shard_size", 500), workers)
    inputs, settings, policy = read_crema_d_inputs(root, agreement=agreement, votes=votes, exclude=exclude,
                                                   workers=workers, synthetic=synthetic)
    config = corpus_config("crema-d", settings, policy, audio_model=audio_model, text_model=None,
                           audio_layer=audio_layer, dtype=dtype)
    return extract_inputs(inputs, out, config, audio_model=audio_model, text_model=None, audio_layer=audio_layer,
                          dtype=dtype, workers=workers, **kwargs)
