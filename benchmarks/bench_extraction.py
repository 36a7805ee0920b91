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
  :class:`pddslib.features.audio.AudioEncoder`, exactly as ``pdds extract`` runs it.

The wavs are generated (16 kHz, durations drawn like IEMOCAP's: mean about 4.5 s, 1-15 s). The
two methods alternate over ``--rounds`` rounds (so that load from other processes affects both);
the table reports the best round of each, and the JSON keeps every round. ``--ablation`` also
times the variants in between on a subset (where the time goes).

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
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from transformers import Data2VecAudioConfig, Data2VecAudioModel, Wav2Vec2FeatureExtractor

from pddslib.device import resolve_device
from pddslib.features.audio import CHUNK_SECONDS, AudioEncoder
from pddslib.features.pipeline import audio_features, default_threads

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


def module_batched(model: torch.nn.Module, paths: list[Path], device: torch.device, budget: float) -> list[np.ndarray]:
    """Ablation: the module's own conv stack on length-bucketed padded batches (no threads)."""
    from pddslib.features.pipeline import length_batches

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
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
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


def sgemm_gmacs(device: torch.device, threads: int = 1) -> float:
    """Measured float32 matrix-product throughput (GMAC/s) with ``threads`` torch threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.randn(4000, 1536, device=device)
        b = torch.randn(1536, 512, device=device)
        a @ b
        best = float("inf")
        for _ in range(5):
            w = time.perf_counter()
            a @ b
            if device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - w)
        return 4000 * 1536 * 512 / best / 1e9
    finally:
        torch.set_num_threads(before)


def row(name: str, walls: list[float], cpus: list[float], n: int, audio: float) -> dict:
    best = int(np.argmin(walls))
    return {"method": name, "wall_s": walls[best], "cpu_s": cpus[best], "utt_per_s": n / walls[best],
            "audio_s_per_s": audio / walls[best], "rounds_wall_s": walls, "rounds_cpu_s": cpus}


def print_table(rows: list[dict], ref: str) -> None:
    base = next(r for r in rows if r["method"] == ref)["wall_s"]
    print(f"{'method':58s} {'wall s':>7s} {'cpu s':>7s} {'utt/s':>7s} {'audio s/s':>9s} {'speed-up':>8s}")
    for r in rows:
        print(f"{r['method']:58s} {r['wall_s']:7.2f} {r['cpu_s']:7.2f} {r['utt_per_s']:7.2f} "
              f"{r['audio_s_per_s']:9.1f} {base / r['wall_s']:7.2f}x")


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
    result: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
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

        names = {"naive": "naive loop (1 utt/call, conv encoder + LayerNorm)",
                 "opt": "optimised pipeline (pdds extract's audio path)",
                 "whole": "naive loop, whole model (model(x).extract_features)"}
        methods = {"naive": lambda: naive(model, paths, device), "opt": lambda: optimised(encoder, paths),
                   "whole": lambda: naive_whole(model, paths, device)}
        walls = {k: [] for k in names}
        cpus = {k: [] for k in names}
        outputs = {}
        for r in range(args.rounds):
            for key in (("naive", "opt", "whole") if r % 2 == 0 else ("whole", "opt", "naive")):
                w, c, res = timed(methods[key])
                walls[key].append(w)
                cpus[key].append(c)
                outputs[key] = res
                print(f"  round {r + 1} {key:5s}: {w:6.1f} s wall, {c:6.1f} s cpu", flush=True)
        diff = max(float(np.abs(a.astype(np.float32) - b.astype(np.float32)).max())
                   for ref in ("naive", "whole") for a, b in zip(outputs[ref], outputs["opt"]))
        shapes_equal = all(a.shape == b.shape for ref in ("naive", "whole") for a, b in zip(outputs[ref], outputs["opt"]))
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
              f"max |naive - optimised| = {diff:.2e} (float16 storage)")
        if device.type == "cpu":
            # The compute ceiling: the conv stack's multiply-adds at the measured sgemm speed of one thread.
            peak = sgemm_gmacs(device, 1)
            per_cpu_s = {k: audio / r["cpu_s"] for k, r in zip(names, rows)}
            result["ceiling"] = {"sgemm_gmac_per_s_one_thread": peak,
                                 "audio_s_per_cpu_s_at_sgemm_peak": peak / gmac,
                                 "audio_s_per_cpu_s": per_cpu_s}
            print(f"compute: {gmac:.2f} GMAC per audio second; float32 sgemm on one thread {peak:.1f} GMAC/s "
                  f"-> at most {peak / gmac:.1f} audio s per CPU second; achieved: naive "
                  f"{per_cpu_s['naive']:.1f}, optimised {per_cpu_s['opt']:.1f}")

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
