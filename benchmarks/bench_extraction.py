"""Audio extraction throughput: the optimised pipeline against a plain loop, same model, same run.

Both compute the data2vec-audio conv features (512-d, 20 ms) of the same wav files with the same
full-size ``Data2VecAudioModel(Data2VecAudioConfig())`` (random weights: no download; the cost
does not depend on the weights) and the same torch thread setting:

- naive: for each file, ``soundfile.read`` -> ``Wav2Vec2FeatureExtractor`` (normalisation) ->
  ``model.feature_extractor(x)`` and the feature projection's LayerNorm (= ``extract_features``)
  under ``torch.no_grad()`` -> float16 numpy; one utterance at a time, no bucketing, no threads
  of its own. It computes only what is needed, so it is the like-for-like baseline;
- naive, whole model: the same loop calling ``model(x).extract_features``, as most scripts do
  (the transformer runs too, and its output is thrown away);
- optimised: :func:`pddslib.features.pipeline.audio_features` with an
  :class:`pddslib.features.audio.AudioEncoder`, exactly as ``pdds extract`` runs it;
- compute: the pipeline's batches and concurrent calls on waves read and normalised in advance
  (what the optimised path costs without reading the files).

The wavs are generated (16 kHz, durations drawn like IEMOCAP's: mean about 4.5 s, 1-15 s). The
methods alternate over ``--rounds`` rounds (so that load from other processes affects all);
the table reports the best round of each, and the JSON keeps every round. ``--ablation`` also
times the variants in between on a subset (where the time goes).

On a CPU the script then measures the compute ceiling (:func:`compute_ceiling`): the conv
feature encoder's layer shapes (from ``Data2VecAudioConfig()``) run as bare convolutions (no
LayerNorm, no GELU) through PyTorch's float32 kernels -- ``conv1d`` and channels-last ``conv2d``
(oneDNN) and the pipeline's strided-view matrix products -- with the pipeline's thread layout
(one call per torch CPU thread, each call on one torch thread), on 1-, 2- and 10-s segments,
best of three repeats. The fastest is the ceiling; ``model.feature_extractor`` (with its
LayerNorms and GELUs), the pipeline's encoder call on prepared waves and a 2048^3 sgemm are
measured alongside, and every method's rate is reported over each of them, per wall second and
per CPU second (process CPU time, all threads) -- ``result["ceiling"]`` in the JSON.

Usage::

    python benchmarks/bench_extraction.py                       # ~60 utterances, auto device
    python benchmarks/bench_extraction.py --n 80 --json bench_extraction.json --ablation
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from bench_host import cpu_name
from transformers import Data2VecAudioConfig, Data2VecAudioModel, Wav2Vec2FeatureExtractor

from pddslib.features.audio import CHUNK_SECONDS, AudioEncoder
from pddslib.features.pipeline import BATCH_SECONDS, _compute_pool, audio_features, default_threads, length_batches
from pddslib.util.device import resolve_device

SR = 16_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=60, help="utterances (default 60)")
    p.add_argument("--mean-seconds", type=float, default=4.5, help="mean duration (IEMOCAP: about 4.5 s)")
    p.add_argument("--rounds", type=int, default=2, help="alternating timed rounds per method (default 2)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    p.add_argument("--ablation", action="store_true", help="also time intermediate variants on a subset")
    p.add_argument("--ablation-n", type=int, default=12, help="utterances in the ablation subset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p.parse_args(argv)


def make_wavs(folder: Path, n: int, mean: float, seed: int) -> tuple[list[Path], np.ndarray]:
    """Speech-like test signals (harmonics with a syllable-rate envelope, plus noise)."""
    rng = np.random.default_rng(seed)
    shape = 2.5
    durations = np.clip(rng.gamma(shape, mean / shape, n), 1.0, 15.0)
    paths = []
    for i, d in enumerate(durations):
        t = np.arange(int(d * SR)) / SR
        f0 = rng.uniform(90, 250)
        voice = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
        envelope = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(3, 6) * t))
        wave = 0.2 * envelope * voice + 0.02 * rng.standard_normal(len(t))
        path = folder / f"utt{i:03d}.wav"
        sf.write(path, (wave / np.abs(wave).max() * 0.8).astype(np.float32), SR, subtype="PCM_16")
        paths.append(path)
    return paths, durations


def naive(model: torch.nn.Module, paths: list[Path], device: torch.device, whole: bool = False) -> list[np.ndarray]:
    """The plain loop: one file at a time, the Hugging Face preprocessor, the model's conv encoder
    and its feature-projection LayerNorm (``whole``: the whole model's ``extract_features``)."""
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=True)
    out = []
    with torch.no_grad():
        for path in paths:
            wave, sr = sf.read(str(path), dtype="float32")
            x = fe(wave, sampling_rate=sr, return_tensors="pt").input_values.to(device)
            if whole:
                feats = model(x).extract_features[0]
            else:
                feats = model.feature_projection.layer_norm(model.feature_extractor(x)[0].T)
            out.append(feats.float().cpu().numpy().astype(np.float16))
    return out


def naive_whole(model: torch.nn.Module, paths: list[Path], device: torch.device) -> list[np.ndarray]:
    return naive(model, paths, device, whole=True)


def optimised(encoder: AudioEncoder, paths: list[Path], **kw) -> list[np.ndarray]:
    return [f.astype(np.float16) for f in audio_features(encoder, paths, **kw).features]


def read_prepared(encoder: AudioEncoder, paths: list[Path]) -> list[np.ndarray]:
    """The waves as the pipeline feeds them to the encoder (read, normalised), read once in advance."""
    return [encoder.prepare(sf.read(str(p), dtype="float32")[0]) for p in paths]


def compute_only(encoder: AudioEncoder, waves: list[np.ndarray], threads: int) -> list[np.ndarray]:
    """The pipeline's batches and concurrent calls on waves already in memory: its compute alone,
    without reading, normalising or ordering (:func:`pddslib.features.pipeline.audio_features`)."""
    budget = BATCH_SECONDS.get(encoder.device.type, BATCH_SECONDS["cuda"]) * SR
    batches = length_batches([len(w) for w in waves], budget)
    out: list[np.ndarray | None] = [None] * len(waves)

    def encode(b: np.ndarray) -> list[np.ndarray]:
        return encoder([waves[i] for i in b], prepared=True)

    with _compute_pool(threads) as pool:
        for b, feats in zip(batches, pool.map(encode, batches) if pool is not None else map(encode, batches)):
            for i, f in zip(b, feats):
                out[i] = f.astype(np.float16)
    return out  # type: ignore[return-value]


def module_batched(model: torch.nn.Module, paths: list[Path], device: torch.device, budget: float) -> list[np.ndarray]:
    """Ablation: the module's own conv stack on length-bucketed padded batches (no threads)."""
    waves = []
    for p in paths:
        w, _ = sf.read(str(p), dtype="float32")
        waves.append((w - w.mean()) / np.sqrt(w.var() + 1e-7))
    out: list[np.ndarray | None] = [None] * len(waves)
    frames = model._get_feat_extract_output_lengths(torch.tensor([len(w) for w in waves])).tolist()
    with torch.inference_mode():
        for b in length_batches([len(w) for w in waves], budget * SR):
            x = torch.zeros(len(b), max(len(waves[i]) for i in b))
            for r, i in enumerate(b):
                x[r, :len(waves[i])] = torch.from_numpy(waves[i])
            y = model.feature_projection.layer_norm(model.feature_extractor(x.to(device)).transpose(1, 2))
            y = y.float().cpu().numpy()
            for r, i in enumerate(b):
                out[i] = y[r, :frames[i]].astype(np.float16)
    return out  # type: ignore[return-value]


def timed(fn, *args, **kw) -> tuple[float, float, list[np.ndarray]]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    w, c = time.perf_counter(), time.process_time()
    res = fn(*args, **kw)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - w, time.process_time() - c, res


def machine() -> dict:
    info = {"platform": platform.platform(), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": sys.version.split()[0],
            "torch": torch.__version__, "transformers": __import__("transformers").__version__}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def conv_gmac_per_audio_second(config: Data2VecAudioConfig, seconds: float = 10.0) -> float:
    """Multiply-accumulates of the conv stack per second of audio (from the layer sizes)."""
    n, c_in, macs = int(seconds * SR), 1, 0
    for c_out, k, s in zip(config.conv_dim, config.conv_kernel, config.conv_stride):
        n = (n - k) // s + 1
        macs += n * k * c_in * c_out
        c_in = c_out
    return macs / seconds / 1e9


# -- the compute ceiling (CPU) --------------------------------------------------------------------
#
# What the conv feature encoder can reach on this CPU with PyTorch's float32 kernels, run with the
# pipeline's thread layout (``threads`` concurrent calls, one torch thread each) on segments of
# 1, 2 and 10 s: the bare conv kernels (the ceiling), the module's conv stack with its LayerNorms
# and GELUs, the pipeline's own encoder call without file reading, and a large sgemm.

Layer = tuple[torch.Tensor, torch.Tensor | None, int]  # weight (C_out, C_in, k), bias (C_out,) or None, stride


def conv_layers(config: Data2VecAudioConfig, seed: int = 0) -> list[Layer]:
    """Random weights of the conv feature encoder's shapes (``conv_dim``, ``conv_kernel``, ``conv_stride``).

    The first layer has one input channel. Weights are scaled by ``1 / sqrt(k * C_in)`` so that the
    activations keep unit scale through the stack without normalisation (no denormals).
    """
    gen = torch.Generator().manual_seed(seed)
    layers, c_in = [], 1
    for c_out, k, s in zip(config.conv_dim, config.conv_kernel, config.conv_stride):
        w = torch.randn(c_out, c_in, k, generator=gen) / (k * c_in) ** 0.5  # (C_out, C_in, k)
        b = torch.zeros(c_out) if config.conv_bias else None
        layers.append((w, b, s))
        c_in = c_out
    return layers


def bare_conv1d(layers: list[Layer]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The conv layers alone (no norm, no activation) through ``torch.nn.functional.conv1d``
    (oneDNN on CPU) on the module's contiguous ``(B, C, T)`` layout."""
    def run(x: torch.Tensor) -> torch.Tensor:  # (B, n)
        h = x[:, None]  # (B, 1, n)
        for w, b, s in layers:
            h = torch.nn.functional.conv1d(h, w, b, s)  # (B, C_out, T')
        return h
    return run


def bare_conv2d_channels_last(layers: list[Layer]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The conv layers alone through ``conv2d`` in channels-last memory (oneDNN's NHWC path)."""
    weights = [(w[:, :, None, :].contiguous(memory_format=torch.channels_last), b, s) for w, b, s in layers]

    def run(x: torch.Tensor) -> torch.Tensor:  # (B, n)
        h = x[:, None, None, :].contiguous(memory_format=torch.channels_last)  # (B, 1, 1, n), stored (B, 1, n, 1)
        for w, b, s in weights:
            h = torch.nn.functional.conv2d(h, w, b, (1, s))  # (B, C_out, 1, T'), stored (B, 1, T', C_out)
        return h
    return run


def bare_matmul_channels_last(layers: list[Layer]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The conv layers alone in the pipeline's form: a strided window view and one matrix product
    per layer on channels-last ``(B, T, C)`` (as ``pddslib.features.audio._conv_stack``)."""
    weights = [(w.permute(2, 1, 0).reshape(-1, w.shape[0]).contiguous(), b, w.shape[2], s)  # (k * C_in, C_out)
               for w, b, s in layers]

    def run(x: torch.Tensor) -> torch.Tensor:  # (B, n)
        h = x[:, :, None]  # (B, n, 1)
        for w, b, k, s in weights:
            bsz, t, ch = h.shape
            t_out = (t - k) // s + 1
            h = h.as_strided((bsz, t_out, k * ch), (h.stride(0), s * ch, 1)) @ w  # (B, T', C_out)
            if b is not None:
                h = h + b
        return h
    return run


def concurrent_throughput(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, calls: int,
                          repeats: int = 3) -> dict:
    """Audio seconds per wall and per CPU second of ``calls`` concurrent ``fn(x)``, one torch thread each.

    This is the pipeline's CPU layout (:func:`pddslib.features.pipeline.audio_features`: one model
    call per thread, each with one torch thread). One untimed warm-up, then the best of ``repeats``
    (by wall time); CPU time is the whole process's.

    Parameters
    ----------
    fn : callable
        Takes ``x`` ``(B, n)`` 16 kHz samples.
    x : torch.Tensor
        ``(B, n)``; each call gets it (``calls * B * n / SR`` audio seconds per repeat).
    calls : int
        Concurrent calls (threads).
    repeats : int
    """
    audio = calls * x.numel() / SR
    walls, cpus = [], []
    with _compute_pool(calls) as pool, torch.inference_mode():
        def once() -> None:
            if pool is None:
                fn(x)
            else:
                for f in [pool.submit(fn, x) for _ in range(calls)]:
                    f.result()
        once()
        for _ in range(repeats):
            w, c = time.perf_counter(), time.process_time()
            once()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    best = int(np.argmin(walls))
    return {"audio_s_per_wall_s": audio / walls[best], "audio_s_per_cpu_s": audio / cpus[best],
            "audio_seconds": audio, "wall_s": walls[best], "cpu_s": cpus[best],
            "rounds_wall_s": walls, "rounds_cpu_s": cpus}


def sgemm_gmacs(device: torch.device, threads: int = 1, size: int = 2048, repeats: int = 5) -> float:
    """Measured float32 ``size`` x ``size`` x ``size`` matrix-product speed (GMAC/s) in one call
    with ``threads`` torch threads (best of ``repeats``)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(size, size, device=device)
        b = torch.randn(size, size, device=device)
        a @ b
        best = float("inf")
        for _ in range(repeats):
            w = time.perf_counter()
            a @ b
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - w)
        return size ** 3 / best / 1e9
    finally:
        torch.set_num_threads(before)


#: Ceiling references: key -> (label, whether it is a bare-kernel form, i.e. a candidate for the ceiling).
REFERENCES = {
    "conv1d": ("bare conv kernels: conv1d on (B, C, T), oneDNN", True),
    "conv2d_cl": ("bare conv kernels: conv2d channels-last, oneDNN", True),
    "matmul_cl": ("bare conv kernels: strided view @ W on (B, T, C) (pipeline's form)", True),
    "module": ("model.feature_extractor (convs + LayerNorms + GELUs)", False),
    "encoder": ("AudioEncoder call on prepared waves (pipeline's compute, no reading)", False),
}
#: Segment lengths (s) of the ceiling's inputs: the shortest utterances, the pipeline's CPU chunk, long ones.
SEGMENT_SECONDS = (1.0, CHUNK_SECONDS["cpu"], 10.0)


def ceiling_references(model: Data2VecAudioModel, encoder: AudioEncoder) -> dict[str, Callable[[torch.Tensor], Any]]:
    """The callables timed by :func:`compute_ceiling`, by :data:`REFERENCES` key; each takes ``(B, n)``."""
    layers = conv_layers(model.config)
    return {"conv1d": bare_conv1d(layers), "conv2d_cl": bare_conv2d_channels_last(layers),
            "matmul_cl": bare_matmul_channels_last(layers), "module": model.feature_extractor,
            "encoder": lambda x: encoder(list(x.numpy()), prepared=True)}


def best_of(by_length: dict[str, dict], unit: str) -> tuple[float, str]:
    """The highest ``unit`` rate over segment lengths and the length (key) that gave it."""
    key = max(by_length, key=lambda k: by_length[k][unit])
    return by_length[key][unit], key


def compute_ceiling(model: Data2VecAudioModel, encoder: AudioEncoder, calls: int, *,
                    seconds_per_call: float = 20.0, segment_seconds: tuple[float, ...] = SEGMENT_SECONDS,
                    repeats: int = 3) -> dict:
    """The CPU ceiling of the conv feature encoder and the references around it.

    Each reference of :data:`REFERENCES` runs ``calls`` concurrent calls (one torch thread each, as
    the pipeline), each on ``seconds_per_call`` of random audio cut into segments of each length of
    ``segment_seconds`` (a ``(seconds_per_call / length, length * SR)`` batch), under
    ``torch.inference_mode``, best of ``repeats``. The ceiling is the fastest bare-kernel form at
    its best segment length (convolutions only: what a float32 implementation built on PyTorch's
    kernels pays at least, before any LayerNorm, GELU, reading or padding), per wall and per CPU
    second.

    Returns
    -------
    dict
        ``layout``, ``conv_gmac_per_audio_second``, ``references`` (key -> label, measurements by
        segment length, best), ``sgemm`` (2048^3 GMAC/s on one thread and on ``calls`` threads, and
        the audio rates they would allow), ``ceiling`` (the best bare-kernel rates and where).
    """
    gen = torch.Generator().manual_seed(0)
    inputs = {f"{sec:g}": torch.randn(max(1, round(seconds_per_call / sec)), int(sec * SR), generator=gen)
              for sec in segment_seconds}  # length -> (B, n), zero mean, unit variance
    refs = {}
    for key, fn in ceiling_references(model, encoder).items():
        label, bare = REFERENCES[key]
        by_length = {length: concurrent_throughput(fn, x, calls, repeats) for length, x in inputs.items()}
        wall, wall_at = best_of(by_length, "audio_s_per_wall_s")
        cpu, cpu_at = best_of(by_length, "audio_s_per_cpu_s")
        refs[key] = {"label": label, "bare_kernels": bare, "by_segment_seconds": by_length,
                     "audio_s_per_wall_s": wall, "segment_seconds_wall": float(wall_at),
                     "audio_s_per_cpu_s": cpu, "segment_seconds_cpu": float(cpu_at)}
    gmac = conv_gmac_per_audio_second(model.config)
    one, full = sgemm_gmacs(torch.device("cpu"), 1), sgemm_gmacs(torch.device("cpu"), calls)
    bare = [k for k in refs if refs[k]["bare_kernels"]]
    wall_key = max(bare, key=lambda k: refs[k]["audio_s_per_wall_s"])
    cpu_key = max(bare, key=lambda k: refs[k]["audio_s_per_cpu_s"])
    return {
        "what": ("audio seconds per wall second and per CPU second (process CPU time, all threads) of the conv "
                 "feature encoder's shapes on random inputs, with the pipeline's thread layout; best repeat"),
        "layout": {"concurrent_calls": calls, "torch_threads_per_call": 1, "audio_seconds_per_call": seconds_per_call,
                   "segment_seconds": list(segment_seconds), "repeats": repeats,
                   "statistic": "best repeat by wall time; per reference, the best segment length per unit"},
        "conv_gmac_per_audio_second": gmac,
        "references": refs,
        "sgemm": {"shape": [2048, 2048, 2048], "gmac_per_s_one_thread": one, "gmac_per_s_all_threads": full,
                  "threads": calls, "audio_s_per_cpu_s_at_one_thread_sgemm": one / gmac,
                  "audio_s_per_wall_s_at_all_threads_sgemm": full / gmac},
        "ceiling": {"what": "fastest bare-kernel reference (conv layers only, no norms or activations) at its "
                            "best segment length",
                    "audio_s_per_wall_s": refs[wall_key]["audio_s_per_wall_s"], "reference_wall": wall_key,
                    "segment_seconds_wall": refs[wall_key]["segment_seconds_wall"],
                    "audio_s_per_cpu_s": refs[cpu_key]["audio_s_per_cpu_s"], "reference_cpu": cpu_key,
                    "segment_seconds_cpu": refs[cpu_key]["segment_seconds_cpu"]},
    }


def achieved(rows: dict[str, dict], audio: float, ceiling: dict) -> dict:
    """Each method's rates (audio s per wall s and per CPU s) over the ceiling and each reference's best."""
    refs = {"ceiling": ceiling["ceiling"], **ceiling["references"]}
    out = {}
    for key, r in rows.items():
        wall, cpu = audio / r["wall_s"], audio / r["cpu_s"]
        out[key] = {"method": r["method"], "audio_s_per_wall_s": wall, "audio_s_per_cpu_s": cpu,
                    "over": {name: {"wall": wall / ref["audio_s_per_wall_s"], "cpu": cpu / ref["audio_s_per_cpu_s"]}
                             for name, ref in refs.items()}}
    return out


def print_ceiling(ceiling: dict) -> None:
    lay, lengths = ceiling["layout"], list(next(iter(ceiling["references"].values()))["by_segment_seconds"])
    print(f"\ncompute ceiling: {lay['concurrent_calls']} concurrent calls x 1 torch thread, "
          f"{lay['audio_seconds_per_call']:.0f} s of audio per call in segments of {', '.join(lengths)} s, "
          f"best of {lay['repeats']}; {ceiling['conv_gmac_per_audio_second']:.2f} GMAC per audio second")
    cols, width = " ".join(f"{length + ' s':>6s}" for length in lengths), 7 * len(lengths) - 1
    print(f"  {'reference':70s}  {'audio s/wall s at':>{width}s}  {'audio s/CPU s at':>{width}s}")
    print(f"  {'':70s}  {cols}  {cols}")
    for r in ceiling["references"].values():
        by = r["by_segment_seconds"]
        print(f"  {r['label']:70s}  " + " ".join(f"{by[k]['audio_s_per_wall_s']:6.1f}" for k in lengths)
              + "  " + " ".join(f"{by[k]['audio_s_per_cpu_s']:6.1f}" for k in lengths))
    sg = ceiling["sgemm"]
    print(f"  sgemm 2048^3: {sg['gmac_per_s_one_thread']:.1f} GMAC/s on 1 thread "
          f"(-> {sg['audio_s_per_cpu_s_at_one_thread_sgemm']:.1f} audio s/CPU s), "
          f"{sg['gmac_per_s_all_threads']:.1f} GMAC/s on {sg['threads']} threads "
          f"(-> {sg['audio_s_per_wall_s_at_all_threads_sgemm']:.1f} audio s/wall s)")
    c = ceiling["ceiling"]
    print(f"  ceiling (best bare kernels): {c['audio_s_per_wall_s']:.1f} audio s/wall s ({c['reference_wall']}, "
          f"{c['segment_seconds_wall']:g} s segments), {c['audio_s_per_cpu_s']:.1f} audio s/CPU s "
          f"({c['reference_cpu']}, {c['segment_seconds_cpu']:g} s segments)")


def print_achieved(ratios: dict) -> None:
    print(f"\n  {'method':58s} {'audio s/wall s':>14s} {'audio s/CPU s':>13s}   of ceiling    of module   of encoder")
    print(f"  {'':58s} {'':14s} {'':13s}   wall   CPU   wall   CPU   wall   CPU")
    for r in ratios.values():
        ratios_ = "  ".join(f"{r['over'][k]['wall']:5.0%} {r['over'][k]['cpu']:5.0%}"
                            for k in ("ceiling", "module", "encoder"))
        print(f"  {r['method']:58s} {r['audio_s_per_wall_s']:14.1f} {r['audio_s_per_cpu_s']:13.1f}   {ratios_}")


def pipeline_batches(paths: list[Path], device: torch.device) -> dict:
    """How the pipeline batches these files by default: model calls and padded audio seconds."""
    samples = np.array([sf.info(str(p)).frames for p in paths])
    budget = BATCH_SECONDS.get(device.type, BATCH_SECONDS["cuda"]) * SR
    batches = length_batches(samples, budget)
    padded = sum(len(b) * int(samples[b].max()) for b in batches) / SR
    return {"batch_seconds": budget / SR, "calls": len(batches), "audio_seconds": float(samples.sum()) / SR,
            "padded_audio_seconds": padded}


def row(name: str, walls: list[float], cpus: list[float], n: int, audio: float) -> dict:
    best = int(np.argmin(walls))
    return {"method": name, "wall_s": walls[best], "cpu_s": cpus[best], "utt_per_s": n / walls[best],
            "audio_s_per_s": audio / walls[best], "rounds_wall_s": walls, "rounds_cpu_s": cpus}


def print_table(rows: list[dict], ref: str) -> None:
    """Best rounds: wall and CPU seconds, utterances and audio seconds per wall second and per CPU
    second (process CPU time, all threads), speed-up in wall time over ``ref``."""
    base = next(r for r in rows if r["method"] == ref)["wall_s"]
    print(f"{'method':58s} {'wall s':>7s} {'cpu s':>7s} {'utt/s':>7s} {'audio s/wall s':>14s} "
          f"{'audio s/CPU s':>13s} {'speed-up':>8s}")
    for r in rows:
        print(f"{r['method']:58s} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} {r['utt_per_s']:7.2f} "
              f"{r['audio_s_per_s']:14.1f} {r['audio_s_per_s'] * r['wall_s'] / r['cpu_s']:13.1f} "
              f"{base / r['wall_s']:7.2f}x")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    print(f"building Data2VecAudioModel(Data2VecAudioConfig()) (random weights) on {device} ...", flush=True)
    model = Data2VecAudioModel(Data2VecAudioConfig()).eval().to(device)
    n_params = sum(p.numel() for p in model.feature_extractor.parameters())
    encoder = AudioEncoder(model, layer="cnn", normalize=True, device=device,
                           chunk_seconds=CHUNK_SECONDS.get(device.type, CHUNK_SECONDS["cuda"]))
    threads = default_threads(device)
    gmac = conv_gmac_per_audio_second(model.config)
    result: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                    "arguments": vars(args),
                    "device": str(device), "model": "Data2VecAudioModel(Data2VecAudioConfig()), random init",
                    "conv_encoder_parameters": n_params, "encoder": encoder.describe(),
                    "pipeline_threads": threads, "conv_gmac_per_audio_second": gmac}
    with tempfile.TemporaryDirectory(prefix="pdds-bench-") as tmp:
        paths, durations = make_wavs(Path(tmp), args.n, args.mean_seconds, args.seed)
        audio = float(durations.sum())
        result.update({"n_utterances": args.n, "audio_seconds": audio,
                       "durations_s": {"mean": float(durations.mean()), "min": float(durations.min()),
                                       "max": float(durations.max())}})
        print(f"{args.n} utterances, {audio:.0f} s of audio (mean {durations.mean():.1f} s, "
              f"{durations.min():.1f}-{durations.max():.1f} s); torch threads {torch.get_num_threads()}; "
              f"pipeline threads {threads}", flush=True)
        # Warm-up (allocator, kernels) on a few files, untimed.
        warm = paths[:3]
        naive(model, warm, device)
        optimised(encoder, warm)

        waves = read_prepared(encoder, paths)  # for the compute-only variant (untimed)
        names = {"naive": "naive loop (1 utt/call, conv encoder + LayerNorm)",
                 "opt": "optimised pipeline (pdds extract's audio path)",
                 "whole": "naive loop, whole model (model(x).extract_features)",
                 "compute": "pipeline's batches and threads, waves pre-read (compute)"}
        methods = {"naive": lambda: naive(model, paths, device), "opt": lambda: optimised(encoder, paths),
                   "whole": lambda: naive_whole(model, paths, device),
                   "compute": lambda: compute_only(encoder, waves, threads)}
        walls = {k: [] for k in names}
        cpus = {k: [] for k in names}
        outputs = {}
        for r in range(args.rounds):
            for key in (list(names) if r % 2 == 0 else list(names)[::-1]):
                w, c, res = timed(methods[key])
                walls[key].append(w)
                cpus[key].append(c)
                outputs[key] = res
                print(f"  round {r + 1} {key:7s}: {w:6.1f} s wall, {c:6.1f} s cpu", flush=True)
        others = ("naive", "whole", "compute")
        diff = max(float(np.abs(a.astype(np.float32) - b.astype(np.float32)).max())
                   for ref in others for a, b in zip(outputs[ref], outputs["opt"]))
        shapes_equal = all(a.shape == b.shape for ref in others for a, b in zip(outputs[ref], outputs["opt"]))
        rows = [row(names[k], walls[k], cpus[k], args.n, audio) for k in names]
        result["results"] = rows
        result["speedup_wall"] = rows[0]["wall_s"] / rows[1]["wall_s"]
        result["speedup_wall_vs_whole_model"] = rows[2]["wall_s"] / rows[1]["wall_s"]
        result["max_abs_diff_float16"] = diff
        result["shapes_equal"] = shapes_equal
        print()
        print_table(rows, names["naive"])
        print(f"\nspeed-up (best rounds): {result['speedup_wall']:.2f}x over the like-for-like loop, "
              f"{result['speedup_wall_vs_whole_model']:.2f}x over the whole-model loop; same frames: {shapes_equal}; "
              f"max |other - optimised| = {diff:.2e} (float16 storage)")
        if device.type == "cpu":
            print("\nmeasuring the compute ceiling ...", flush=True)
            ceiling = compute_ceiling(model, encoder, threads)
            ceiling["achieved_what"] = ("per method: audio s per wall s and per CPU s (best round) and, under "
                                        "'over', their ratios to the ceiling and to each reference's best")
            ceiling["achieved"] = achieved(dict(zip(names, rows)), audio, ceiling)
            ceiling["pipeline_batches"] = pipeline_batches(paths, device)
            result["ceiling"] = ceiling
            print_ceiling(ceiling)
            print_achieved(ceiling["achieved"])
            pb = ceiling["pipeline_batches"]
            print(f"  the pipeline ran {pb['calls']} calls (batches <= {pb['batch_seconds']:.0f} s) on "
                  f"{pb['padded_audio_seconds']:.1f} padded seconds for {pb['audio_seconds']:.1f} s of audio")

        if args.ablation:
            sub = paths[:args.ablation_n]
            sub_audio = float(durations[:args.ablation_n].sum())
            def one_thread(fn):
                def run() -> list[np.ndarray]:
                    before = torch.get_num_threads()
                    torch.set_num_threads(1)
                    try:
                        return fn()
                    finally:
                        torch.set_num_threads(before)
                return run

            variants = [
                ("naive loop", lambda: naive(model, sub, device)),
                ("naive loop, torch.set_num_threads(1)", one_thread(lambda: naive(model, sub, device))),
                ("channels-last conv, 1 utt/call, torch.set_num_threads(1)",
                 one_thread(lambda: optimised(encoder, sub, threads=1, batch_seconds=0))),
                ("module conv stack, bucketed padded batches of 20 s", lambda: module_batched(model, sub, device, 20.0)),
                ("channels-last conv, 1 utt/call, one call at a time",
                 lambda: optimised(encoder, sub, threads=1, batch_seconds=0)),
                (f"channels-last conv, 1 utt/call, {threads} calls x 1 torch thread",
                 lambda: optimised(encoder, sub, batch_seconds=0)),
                (f"channels-last conv, batches <= 4 s, {threads} calls x 1 torch thread (default)",
                 lambda: optimised(encoder, sub)),
                (f"channels-last conv, batches <= 20 s, {threads} calls x 1 torch thread",
                 lambda: optimised(encoder, sub, batch_seconds=20.0)),
            ]
            abl = []
            print(f"\nablation on {len(sub)} utterances ({sub_audio:.0f} s of audio):", flush=True)
            for name, fn in variants:
                w, c, _ = timed(fn)
                abl.append(row(name, [w], [c], len(sub), sub_audio))
                print(f"  {name}: {w:.1f} s", flush=True)
            if device.type == "cpu":
                one = [min(sub, key=lambda p: sf.info(str(p)).frames)]
                secs = sf.info(str(one[0])).frames / SR

                def bf16() -> None:
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        naive(model, one, device)
                w32, c32, _ = timed(naive, model, one, device)
                w16, c16, _ = timed(bf16)
                abl.append({"method": f"bf16 autocast on CPU, module, one {secs:.1f} s utterance", "wall_s": w16,
                            "cpu_s": c16, "fp32_wall_s": w32, "slowdown_vs_fp32": w16 / w32})
                print(f"  bf16 autocast on CPU ({secs:.1f} s utterance): {w16:.2f} s vs fp32 {w32:.2f} s "
                      f"({w16 / w32:.1f}x slower)")
            result["ablation"] = abl
            print()
            print_table([r for r in abl if "utt_per_s" in r], "naive loop")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
