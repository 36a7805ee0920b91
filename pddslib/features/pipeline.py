"""The fast extraction pipeline: batching by length, reading ahead, concurrent model calls.

:func:`audio_features` and :func:`text_features` turn wav files and transcripts into feature
sequences, in input order. Utterances are sorted by duration and packed into batches up to a
budget of padded seconds (so padding stays small), run under ``torch.inference_mode()`` with
bf16/fp16 autocast on CUDA. On a GPU, reading threads prepare the next batches while the model
runs. On a CPU, one thread per core each reads a batch and runs it with a single torch thread (no
synchronisation inside operators; the process's torch thread setting is restored afterwards);
measured in ``benchmarks/bench_extraction.py``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio import SAMPLE_RATE, AudioFileError, WavInfo, read_wav, wav_info

#: Padded seconds of audio per batch, by device type. CPU: small (only short utterances share a
#: call); padded batches of 20 s or more were slower there (benchmarks/bench_extraction.py
#: --ablation). CUDA: large batches keep the GPU busy.
BATCH_SECONDS = {"cpu": 4.0, "cuda": 120.0}
#: Padded word pieces per text batch.
TEXT_BATCH_TOKENS = {"cpu": 2048, "cuda": 16384}


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


# -- running the models ----------------------------------------------------------------------

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
