"""``pdds extract``: data2vec-audio + BERT features of an IEMOCAP release into a feature store.

What is stored: exactly the 6-class utterances of :func:`pddslib.corpora.iemocap.six_class_frame`
(manifest columns copied from it), with ``audio`` = the data2vec-audio conv-encoder frames as
``transformers`` returns them in ``extract_features`` (512-d, 20 ms; :mod:`pddslib.features.audio`) and ``text`` = BERT's last layer per word piece (768-d;
:mod:`pddslib.features.text`). The dimensions come from the models.

Missing inputs
--------------
- a 6-class utterance without a wav file: an error listing the first missing files and their count
  (nothing is extracted); an unreadable wav, or one shorter than the model's 25 ms receptive field:
  an error naming the file;
- a 6-class utterance without a transcript line: an error naming the transcript file and the
  utterance; an empty transcript: kept, its text sequence is the ``[CLS]`` vector (counted);
- transcript lines that are not utterances (``M: Yeah.``, ``..._MXX0``): skipped and counted;
- a wav at another sample rate: resampled to 16 kHz (counted); several channels: averaged.

Speed (:func:`audio_features`, :func:`text_features`): utterances are sorted by duration and
packed into batches up to a budget of padded seconds (so padding stays small), run under
``torch.inference_mode()`` with bf16/fp16 autocast on CUDA. On a GPU, reading threads prepare the
next batches while the model runs. On a CPU, one thread per core each reads a batch and runs it
with a single torch thread (no synchronisation inside operators; the process's torch thread setting
is restored afterwards); with the channels-last conv path of :mod:`pddslib.features.audio` this is
what makes the CPU extraction faster (measured in ``benchmarks/bench_extraction.py``).

Interrupting and resuming: the work is done in shards of ``shard_size`` utterances, each written
atomically (a temporary folder renamed into place) into ``<out>.partial/`` together with the
configuration hash. Running the same command again skips the finished shards; another
configuration in an existing ``.partial`` is an error. At the end the shards are streamed into the
store (:func:`pddslib.features.store.write_store`) and ``.partial`` is removed. A store that already
holds the same configuration is left as it is; another configuration needs ``overwrite``.

The configuration recorded in the store (and hashed) is what determines the numbers: corpus,
sessions, vote policy, models (the resolved path of a local folder), audio layer, storage dtype,
the pddslib version. Device, batch size, workers and shard size only change float noise, so they
are not part of it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import time
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from ..atomic import atomic_dir
from .audio import SAMPLE_RATE, AudioFileError, WavInfo, model_identity, read_wav, wav_info
from .store import FeatureStore, StoreError, config_hash, write_store

DEFAULT_AUDIO_MODEL = "facebook/data2vec-audio-base"
DEFAULT_TEXT_MODEL = "bert-base-uncased"
#: Padded seconds of audio per batch, by device type. CPU: small (only short utterances share a
#: call); padded batches of 20 s or more were slower there (benchmarks/bench_extraction.py
#: --ablation). CUDA: large batches keep the GPU busy.
BATCH_SECONDS = {"cpu": 4.0, "cuda": 120.0}
#: Padded word pieces per text batch.
TEXT_BATCH_TOKENS = {"cpu": 2048, "cuda": 16384}
STORE_DTYPES = ("float16", "float32")
MAX_LISTED = 5


# -- configuration --------------------------------------------------------------------------------

def extraction_config(*, sessions: Sequence[int], audio_model: str | Path, text_model: str | Path,
                      audio_layer: str | int, policy: Any, dtype: str) -> dict[str, Any]:
    """The configuration that determines the features (recorded in the store and hashed)."""
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


def _config_diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "; ".join(f"{k}: {a.get(k)!r} there, {b.get(k)!r} now" for k in keys) or "(no visible difference)"


# -- batching ---------------------------------------------------------------------------------------

def length_batches(lengths: Sequence[float] | np.ndarray, budget: float, *,
                   one_by_one: bool = False) -> list[np.ndarray]:
    """Group items by length so that each padded batch stays within ``budget``.

    Items are sorted by length (longest first, so a memory problem shows at once) and packed while
    ``len(batch) * longest <= budget``; an item longer than the budget is a batch of its own.

    Returns
    -------
    list of numpy.ndarray
        Index arrays into ``lengths``.
    """
    lengths = np.asarray(lengths, dtype=float)
    order = np.argsort(-lengths, kind="stable")
    if one_by_one:
        return [order[i:i + 1] for i in range(len(order))]
    batches, start = [], 0
    while start < len(order):
        longest = lengths[order[start]]
        n = max(1, int(budget // longest)) if longest > 0 else len(order)
        batches.append(order[start:start + n])
        start += n
    return batches


# -- corpus ---------------------------------------------------------------------------------------

@dataclass
class _Corpus:
    frame: pd.DataFrame
    texts: list[str]
    wavs: list[WavInfo]
    skipped_lines: int
    skipped_examples: list[str]


def _listing(items: list[str], total: int, what: str) -> str:
    shown = "\n  ".join(items[:MAX_LISTED])
    more = f"\n  ... and {total - MAX_LISTED} more" if total > MAX_LISTED else ""
    return f"{total} {what}:\n  {shown}{more}"


def _read_corpus(root: Path, sessions: Sequence[int], policy: Any, workers: int) -> _Corpus:
    from ..corpora import iemocap
    from ..labels import VotePolicy

    pol = VotePolicy.named(policy) if isinstance(policy, str) else policy
    frame = iemocap.six_class_frame(root, sessions, pol)
    if frame.empty:
        raise ValueError(f"{root}: no 6-class utterance in sessions {list(sessions)}")
    report = iemocap.read_transcripts(root, sessions)
    missing = [u for u in frame["utt_id"] if u not in report.texts]
    if missing:
        where = [f"{root / f'Session{int(u[3:5])}' / 'dialog' / 'transcriptions' / (u.rsplit('_', 1)[0] + '.txt')}: "
                 f"no line for {u}" for u in missing]
        raise FileNotFoundError(_listing(where, len(missing), "6-class utterance(s) without a transcript line"))
    paths = [iemocap.wav_path(root, u) for u in frame["utt_id"]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(_listing(absent, len(absent), f"of {len(paths)} 6-class wav files are missing"))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        wavs = list(pool.map(wav_info, paths))
    return _Corpus(frame, [report.texts[u] for u in frame["utt_id"]], wavs, report.skipped,
                   list(report.skipped_examples))


def _manifest(frame: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    from .store import MANIFEST_COLUMNS

    extra = ["start", "end", "n_evaluators"] + [f"votes_{c}" for c in classes]
    cols = list(MANIFEST_COLUMNS) + [c for c in extra if c in frame.columns] + [f"dist_{c}" for c in classes]
    return frame[cols].reset_index(drop=True).copy()


# -- shards -----------------------------------------------------------------------------------------

def _shard_dir(partial: Path, k: int) -> Path:
    return partial / f"shard_{k:05d}"


def _shard_done(partial: Path, k: int, utt_ids: list[str]) -> bool:
    meta = _shard_dir(partial, k) / "meta.json"
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text()).get("utt_ids") == utt_ids
    except json.JSONDecodeError:
        return False


def _write_shard(partial: Path, k: int, utt_ids: list[str], seqs: dict[str, list[np.ndarray]], dtype: str,
                 stats: dict[str, Any]) -> Path:
    """Write one shard atomically: a temporary folder in ``partial`` renamed into place."""
    final = _shard_dir(partial, k)
    with atomic_dir(final) as tmp:
        for mod, arrays in seqs.items():
            lengths = np.array([len(a) for a in arrays], dtype=np.int64)
            np.save(tmp / f"{mod}.npy", np.concatenate(arrays).astype(dtype))
            np.save(tmp / f"{mod}_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        (tmp / "meta.json").write_text(json.dumps({"utt_ids": utt_ids, **stats}))
    return final


def _shard_sequences(partial: Path, n_shards: int, mod: str) -> Iterator[np.ndarray]:
    for k in range(n_shards):
        d = _shard_dir(partial, k)
        arr = np.load(d / f"{mod}.npy", mmap_mode="r")
        off = np.load(d / f"{mod}_offsets.npy")
        for i in range(len(off) - 1):
            yield arr[off[i]:off[i + 1]]
        del arr


def _check_partial(partial: Path, config: dict[str, Any], utt_ids: list[str]) -> int | None:
    """Check that an existing ``partial`` holds the same work; its shard size (None: no partial)."""
    state_path = partial / "state.json"
    if not partial.exists():
        return None
    if not state_path.is_file():
        raise StoreError(f"{partial}: exists but has no state.json (not an extraction in progress?); "
                         f"delete it to start again")
    state = json.loads(state_path.read_text())
    if state.get("config_hash") != config_hash(config):
        raise StoreError(f"{partial}: an unfinished extraction with other settings "
                         f"({_config_diff(state.get('config', {}), config)}). Delete {partial} to start "
                         f"again, or rerun with the same settings to resume it")
    if state.get("utterances") != config_hash({"utt_ids": utt_ids}):
        raise StoreError(f"{partial}: an unfinished extraction of another utterance list (other corpus "
                         f"copy?). Delete {partial} to start again")
    for stale in partial.glob(".shard_*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    return int(state["shard_size"])


def _create_partial(partial: Path, config: dict[str, Any], utt_ids: list[str], shard_size: int) -> None:
    partial.mkdir(parents=True)
    state = {"config": config, "config_hash": config_hash(config), "utterances": config_hash({"utt_ids": utt_ids}),
             "n_utterances": len(utt_ids), "shard_size": int(shard_size)}
    tmp = partial / ".state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, partial / "state.json")


# -- the pipeline --------------------------------------------------------------------------------------

@dataclass
class _Totals:
    """What this run did (the per-shard statistics live in the shards' meta.json)."""

    extracted: int = 0           # utterances extracted by this run
    shards_done_before: int = 0  # shards found finished in <out>.partial
    audio_seconds: float = 0.0
    truncated_text: int = 0


def _read_batch(encoder: Any, infos: list[WavInfo]) -> list[tuple[np.ndarray, bool]]:
    """Read, resample and prepare the wavs of one batch: ``[(wave, resampled), ...]``."""
    out = []
    for info in infos:
        wave, resampled = read_wav(info.path, SAMPLE_RATE)
        if len(wave) < encoder.min_samples:
            raise AudioFileError(f"{info.path}: {len(wave)} samples at 16 kHz, shorter than the audio model's "
                                 f"receptive field ({encoder.min_samples} samples)")
        out.append((encoder.prepare(wave), resampled))
    return out


def _in_order(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: Sequence[Any], window: int) -> Iterator[Any]:
    """``fn(item)`` for each item on ``pool``, at most ``window`` in flight, results in order."""
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for f in pending:
            f.cancel()


def default_threads(device: Any) -> int:
    """Concurrent model calls: one per torch CPU thread on a CPU, one on a GPU."""
    import torch

    return max(1, torch.get_num_threads()) if getattr(device, "type", str(device)) == "cpu" else 1


@contextmanager
def _compute_pool(threads: int) -> Iterator[ThreadPoolExecutor | None]:
    """``threads`` > 1: a pool whose threads each run torch with one intra-op thread.

    On a CPU, N single-threaded model calls in parallel beat one call spread over N cores: no
    synchronisation inside each operator (which costs most when other processes share the cores).
    The process-wide torch thread setting is restored afterwards.
    """
    if threads <= 1:
        yield None
        return
    import torch

    before = torch.get_num_threads()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="pdds-model", initializer=torch.set_num_threads,
                              initargs=(1,))
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(before)


@dataclass
class AudioResult:
    """What :func:`audio_features` returns: features in input order and what reading found."""

    features: list[np.ndarray]
    resampled: int
    seconds: float


def audio_features(encoder: Any, wavs: Sequence[str | Path | WavInfo], *, batch_seconds: float | None = None,
                   threads: int | None = None, workers: int = 2,
                   on_batch: Callable[[int, float], None] | None = None) -> AudioResult:
    """Audio features of wav files, the fast way (the audio half of :func:`extract`).

    Utterances are sorted by duration and packed into batches of at most ``batch_seconds`` padded
    seconds (:func:`length_batches`; one by one for models where padding is unsafe). With
    ``threads`` > 1 (the CPU default: one per core) each thread reads a batch and runs it with one
    torch thread; with one thread (the GPU default) ``workers`` threads read and prepare the next
    batches while the model runs.

    Parameters
    ----------
    encoder : AudioEncoder
    wavs : sequence of path or WavInfo
    batch_seconds : float, optional
        Padded seconds per batch (default :data:`BATCH_SECONDS` for the encoder's device).
    threads : int, optional
        Concurrent model calls (default :func:`default_threads`).
    workers : int
        Reading threads when ``threads`` is 1.
    on_batch : callable, optional
        Called with (utterances, audio seconds) after each batch (progress).
    """
    infos = [w if isinstance(w, WavInfo) else wav_info(w) for w in wavs]
    threads = default_threads(encoder.device) if threads is None else max(1, int(threads))
    budget = BATCH_SECONDS.get(encoder.device.type, BATCH_SECONDS["cuda"]) if batch_seconds is None else batch_seconds
    samples = np.array([w.samples_at(SAMPLE_RATE) for w in infos])
    batches = length_batches(samples, max(budget, 0.0) * SAMPLE_RATE, one_by_one=not encoder.pads_safely)
    feats: list[np.ndarray | None] = [None] * len(infos)
    result = AudioResult([], 0, 0.0)

    def read(b: np.ndarray) -> list[tuple[np.ndarray, bool]]:
        return _read_batch(encoder, [infos[i] for i in b])

    def read_and_encode(b: np.ndarray) -> tuple[list[tuple[np.ndarray, bool]], list[np.ndarray]]:
        got = read(b)
        return got, encoder([w for w, _ in got], prepared=True)

    with _compute_pool(threads) as compute, ThreadPoolExecutor(max(1, workers), thread_name_prefix="pdds-read") as io:
        if compute is not None:
            done = _in_order(compute, read_and_encode, batches, window=2 * threads)
        else:
            done = ((got, encoder([w for w, _ in got], prepared=True))
                    for got in _in_order(io, read, batches, window=max(1, workers) + 1))
        for b, (got, out) in zip(batches, done):
            for i, f in zip(b, out):
                feats[i] = f
            seconds = sum(len(w) for w, _ in got) / SAMPLE_RATE
            result.resampled += sum(r for _, r in got)
            result.seconds += seconds
            if on_batch is not None:
                on_batch(len(b), seconds)
    result.features = feats  # type: ignore[assignment]
    return result


def text_features(encoder: Any, texts: Sequence[str], *, batch_tokens: int | None = None,
                  threads: int | None = None) -> tuple[list[np.ndarray], int, int]:
    """Text features (the text half of :func:`extract`): features, empty and truncated counts.

    Texts are batched by number of word pieces (at most ``batch_tokens`` padded pieces per batch)
    and, with ``threads`` > 1, run concurrently as for audio.
    """
    tokens = encoder.tokenize(texts)
    threads = default_threads(encoder.device) if threads is None else max(1, int(threads))
    budget = batch_tokens or TEXT_BATCH_TOKENS.get(encoder.device.type, TEXT_BATCH_TOKENS["cuda"])
    batches = length_batches([len(t.ids) for t in tokens], budget)
    feats: list[np.ndarray | None] = [None] * len(tokens)

    def encode(b: np.ndarray) -> list[np.ndarray]:
        return encoder.encode([tokens[i] for i in b])

    with _compute_pool(threads) as compute:
        done = _in_order(compute, encode, batches, 2 * threads) if compute is not None else map(encode, batches)
        for b, out in zip(batches, done):
            for i, f in zip(b, out):
                feats[i] = f
    return feats, sum(t.empty for t in tokens), sum(t.truncated for t in tokens)  # type: ignore[return-value]


def extract(root: str | Path, out: str | Path, *, sessions: Sequence[int] = (1, 2, 3, 4, 5),
            audio_model: str | Path = DEFAULT_AUDIO_MODEL, text_model: str | Path = DEFAULT_TEXT_MODEL,
            audio_layer: str | int = "cnn", device: str = "auto", batch_seconds: float | None = None,
            workers: int = 2, threads: int | None = None, dtype: str = "float16", shard_size: int = 500,
            policy: Any = "default", overwrite: bool = False, progress: bool = True, quiet: bool = False) -> Path:
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
        Padded audio seconds per batch (default by device: :data:`BATCH_SECONDS`).
    workers : int
        Threads that read and prepare wavs ahead of the model (GPU).
    threads : int, optional
        Concurrent model calls; default: one per torch thread on a CPU (each then runs with one
        torch thread), one on a GPU. See :func:`audio_features`.
    dtype : {"float16", "float32"}
        Storage dtype of the features.
    shard_size : int
        Utterances per shard (the unit of resumption).
    policy : str or VotePolicy
        Vote policy of the label distributions (see :class:`pddslib.labels.VotePolicy`).
    overwrite : bool
        Replace a store in ``out`` that was extracted with another configuration.
    progress : bool
        Show a progress bar (stderr).
    quiet : bool
        Do not print the final summary line.

    Returns
    -------
    Path
        The store folder.
    """
    t0 = time.perf_counter()
    root, out = Path(root), Path(out)
    if dtype not in STORE_DTYPES:
        raise ValueError(f"dtype must be one of {STORE_DTYPES}, got {dtype!r}")
    if shard_size < 1 or workers < 0:
        raise ValueError(f"shard_size must be >= 1 and workers >= 0 (got {shard_size}, {workers})")
    sessions = tuple(sessions)
    config = extraction_config(sessions=sessions, audio_model=audio_model, text_model=text_model,
                               audio_layer=audio_layer, policy=policy, dtype=dtype)
    digest = config_hash(config)
    if out.exists():
        meta_path = out / "store.json"
        if not meta_path.is_file():
            raise FileExistsError(f"{out}: exists and is not a feature store (no store.json); choose another --out")
        meta = json.loads(meta_path.read_text())
        if meta.get("config_hash") == digest:
            if not quiet:
                print(f"{out}: up to date (config {digest}); nothing to do")
            return out
        if not overwrite:
            raise StoreError(f"{out}: holds features extracted with other settings "
                             f"({_config_diff(meta.get('config', {}), config)}); pass --overwrite to replace "
                             f"it, or choose another --out")

    corpus = _read_corpus(root, sessions, policy, workers)
    frame = corpus.frame
    utt_ids = frame["utt_id"].tolist()
    partial = out.with_name(out.name + ".partial")
    resumed_size = _check_partial(partial, config, utt_ids)
    shard_size = resumed_size or shard_size
    n = len(utt_ids)
    shards = [np.arange(s, min(n, s + shard_size)) for s in range(0, n, shard_size)]
    todo = [k for k, idx in enumerate(shards) if not _shard_done(partial, k, [utt_ids[i] for i in idx])]
    totals = _Totals(shards_done_before=len(shards) - len(todo))
    audio_dim = text_dim = None

    if todo:
        from tqdm import tqdm

        from ..device import resolve_device
        from .audio import AudioEncoder
        from .text import TextEncoder

        dev = resolve_device(device)
        audio = AudioEncoder.from_pretrained(audio_model, layer=audio_layer, device=dev)
        short = [str(w.path) for w in corpus.wavs if w.samples_at(SAMPLE_RATE) < audio.min_samples]
        if short:
            raise AudioFileError(_listing(short, len(short), f"wav(s) shorter than the audio model's receptive "
                                                             f"field ({audio.min_samples} samples at 16 kHz)"))
        text = TextEncoder.from_pretrained(text_model, device=dev)
        audio_dim, text_dim = audio.dim, text.dim
        n_threads = default_threads(dev) if threads is None else max(1, int(threads))
        if resumed_size is None:
            _create_partial(partial, config, utt_ids, shard_size)
        done_before = n - sum(len(shards[k]) for k in todo)
        t_start = time.perf_counter()
        with tqdm(total=n, initial=done_before, unit="utt", desc="pdds extract", disable=not progress,
                  dynamic_ncols=True, smoothing=0.05) as bar:
            def on_batch(n_utts: int, seconds: float) -> None:
                totals.audio_seconds += seconds
                bar.update(n_utts)
                rate = totals.audio_seconds / max(1e-9, time.perf_counter() - t_start)
                bar.set_postfix_str(f"{rate:.1f}x real time", refresh=False)

            for k in todo:
                idx = shards[k]
                got = audio_features(audio, [corpus.wavs[i] for i in idx], batch_seconds=batch_seconds,
                                     threads=n_threads, workers=workers, on_batch=on_batch)
                t_feats, n_empty, n_truncated = text_features(text, [corpus.texts[i] for i in idx],
                                                              threads=n_threads)
                totals.truncated_text += n_truncated
                stats = {"audio_dim": audio_dim, "text_dim": text_dim, "resampled": got.resampled,
                         "audio_seconds": got.seconds, "empty_text": n_empty, "truncated_text": n_truncated}
                _write_shard(partial, k, [utt_ids[i] for i in idx], {"audio": got.features, "text": t_feats},
                             dtype, stats)
                totals.extracted += len(idx)
        if totals.truncated_text:
            warnings.warn(f"{totals.truncated_text} transcript(s) longer than the text model's maximum input "
                          f"were truncated", stacklevel=2)

    # Assemble: per-shard statistics and lengths, then stream the shards into the store.
    lens: dict[str, list[int]] = {"audio": [], "text": []}
    shard_stats = {"resampled": 0, "empty_text": 0, "truncated_text": 0}
    for k in range(len(shards)):
        d = _shard_dir(partial, k)
        meta = json.loads((d / "meta.json").read_text())
        for key in shard_stats:
            shard_stats[key] += int(meta.get(key, 0))
        dims = (int(meta["audio_dim"]), int(meta["text_dim"]))
        if k and dims != (audio_dim, text_dim):
            raise StoreError(f"{d}: dimensions {dims} differ from the earlier shards' {(audio_dim, text_dim)} "
                             f"(did a model folder change?); delete {partial} and extract again")
        audio_dim, text_dim = dims
        for mod in lens:
            lens[mod].extend(np.diff(np.load(d / f"{mod}_offsets.npy")).tolist())
    manifest = _manifest(frame, _classes())
    manifest["audio_len"] = np.asarray(lens["audio"], dtype=np.int64)
    manifest["text_len"] = np.asarray(lens["text"], dtype=np.int64)
    write_store(out, manifest, {m: _shard_sequences(partial, len(shards), m) for m in ("audio", "text")},
                classes=_classes(), dims={"audio": audio_dim, "text": text_dim}, config=config,
                corpus="iemocap", synthetic=False, dtype=dtype, overwrite=out.exists())
    shutil.rmtree(partial)

    seconds = time.perf_counter() - t0
    if not quiet:
        store = FeatureStore.open(out, validate=False)
        info = store.info()
        rate = totals.extracted / max(seconds, 1e-9)
        multi = sum(w.channels > 1 for w in corpus.wavs)
        resumed = (f" (resumed: {totals.shards_done_before} of {len(shards)} shards were done)"
                   if totals.shards_done_before else "")
        split = info["split"]
        print(f"{out}: {info['n_utterances']} utterances (train {split['train']}, test {split['test']}); "
              f"audio {info['dims']['audio']}-d, text {info['dims']['text']}-d; "
              f"{shard_stats['resampled']} resampled wav(s)"
              + (f", {multi} multi-channel wav(s) averaged" if multi else "")
              + f"; {corpus.skipped_lines} non-utterance transcript line(s) skipped; "
              f"{shard_stats['empty_text']} empty transcript(s); "
              f"{seconds:.1f} s, {rate:.1f} utterances/s{resumed}")
    return out


def _classes() -> tuple[str, ...]:
    from ..labels import CLASSES

    return CLASSES


# -- command line -------------------------------------------------------------------------------------

def _layer(text: str) -> str | int:
    if text == "cnn":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--audio-layer must be 'cnn' or an integer, got {text!r}") from None


def add_extract_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``pdds extract``."""
    from ..cli import _add_policy, _sessions

    parser.add_argument("--iemocap", required=True, metavar="ROOT", help="IEMOCAP release folder (holds Session1..5)")
    parser.add_argument("--out", required=True, metavar="STORE", help="feature store folder to write")
    parser.add_argument("--audio-model", default=DEFAULT_AUDIO_MODEL,
                        help=f"wav2vec2-family checkpoint, hub name or folder (default {DEFAULT_AUDIO_MODEL})")
    parser.add_argument("--text-model", default=DEFAULT_TEXT_MODEL,
                        help=f"BERT-family checkpoint, hub name or folder (default {DEFAULT_TEXT_MODEL})")
    parser.add_argument("--audio-layer", type=_layer, default="cnn",
                        help="'cnn' (conv feature encoder, the paper's 512-d) or i for hidden_states[i]")
    parser.add_argument("--sessions", type=_sessions, default=(1, 2, 3, 4, 5), help="sessions (default 1,2,3,4,5)")
    _add_policy(parser)
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")
    parser.add_argument("--batch-seconds", type=float, default=None,
                        help=f"padded audio seconds per batch (default: {BATCH_SECONDS['cpu']:g} on CPU, "
                             f"{BATCH_SECONDS['cuda']:g} on CUDA)")
    parser.add_argument("--workers", type=int, default=2, help="threads reading wavs ahead on a GPU (default 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="concurrent model calls (default: one per CPU core on a CPU, 1 on a GPU)")
    parser.add_argument("--dtype", choices=list(STORE_DTYPES), default="float16", help="storage dtype (default float16)")
    parser.add_argument("--shard-size", type=int, default=500, help="utterances per resumable shard (default 500)")
    parser.add_argument("--overwrite", action="store_true", help="replace a store made with other settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def extract_cli(args: argparse.Namespace) -> int:
    """Run ``pdds extract`` from parsed arguments."""
    extract(args.iemocap, args.out, sessions=args.sessions, audio_model=args.audio_model,
            text_model=args.text_model, audio_layer=args.audio_layer, device=args.device,
            batch_seconds=args.batch_seconds, workers=args.workers, threads=args.threads, dtype=args.dtype,
            shard_size=args.shard_size, policy=args.policy, overwrite=args.overwrite,
            progress=not args.no_progress)
    return 0
