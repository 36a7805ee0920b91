"""The GPU rehearsal's parts 2 and 3 (see ``rehearsal.py``): extraction throughput, CPU/CUDA parity."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rehearsal_kit import (
    EXTRACTION_UTTERANCES,
    PARITY_SCALE,
    PARITY_UTTERANCES,
    TOLERANCES,
    Encoders,
    autocast_off,
    autocast_tolerance,
    compare,
    naive_audio,
    naive_text,
    now,
    pipeline_audio,
    pipeline_text,
    stats,
    strict_float32,
    synth_texts,
    synth_waves,
    timed,
    utterance_durations,
    within,
)

# -- 2. extraction throughput --------------------------------------------------------------------------

def _plan_n(durations: np.ndarray, seconds_per_audio_second: float, time_s: float, n_min: int) -> int:
    """Most utterances whose audio fits ``time_s`` at the given cost (at least ``n_min``)."""
    if seconds_per_audio_second <= 0:
        return len(durations)
    n = int(np.searchsorted(np.cumsum(durations), time_s / seconds_per_audio_second, side="right"))
    return int(min(len(durations), max(n_min, n)))


def part_extraction(args: argparse.Namespace, device: Any, deadline: float, enc: Encoders) -> dict[str, Any]:
    """Audio and text extraction: the package's pipeline against the naive loop, same models, same run."""
    from pddslib.util.device import autocast_dtype

    start = now()
    n_max = args.utterances or max(8, int(round(EXTRACTION_UTTERANCES * args.scale)))
    durations = utterance_durations(n_max, args.seed)
    amp = str(autocast_dtype(device)).replace("torch.", "")
    res: dict[str, Any] = {"encoders": enc.describe(), "pipeline_autocast": amp,
                           "naive": "one utterance per call, float32, same model (conv encoder + projection "
                                    "LayerNorm for audio; BERT last layer for text)",
                           "utterances_planned": n_max}

    # Warm-up (allocator, kernels, threads) on three utterances; the second pass gives rough rates.
    warm_d = durations[:3]
    warm_w, warm_t = synth_waves(warm_d, args.seed + 7), synth_texts(warm_d, enc.words, args.seed + 7)
    rates = {}
    for name, fn in (("audio_pipeline", lambda: pipeline_audio(enc.audio, warm_w)),
                     ("audio_naive", lambda: naive_audio(enc.audio_model, warm_w, device)),
                     ("text_pipeline", lambda: pipeline_text(enc.text, warm_t)),
                     ("text_naive", lambda: naive_text(enc.text, warm_t))):
        fn()
        rates[name] = timed(fn, device)[0] / float(warm_d.sum())  # seconds per audio second
    res["warmup_seconds_per_audio_second"] = {k: round(v, 5) for k, v in rates.items()}

    # How many utterances fit: audio gets 65 % of what is left, text the rest; each method once
    # per round, the naive loop once (and it stops at its deadline anyway).
    left = max(0.0, deadline - now())
    rounds = max(1, args.rounds)
    n_audio = _plan_n(durations, rounds * rates["audio_pipeline"] + rates["audio_naive"], 0.65 * 0.8 * left, 3)
    n_text = _plan_n(durations, rounds * rates["text_pipeline"] + rates["text_naive"], 0.35 * 0.8 * left, 3)
    d = durations[:max(n_audio, n_text)]
    waves, texts = synth_waves(d[:n_audio], args.seed), synth_texts(d[:n_text], enc.words, args.seed)
    if device.type == "cuda":
        import torch

        res["resident_device_mib"] = round(torch.cuda.memory_allocated(device) / 2**20, 1)
        res["peak_device_memory_note"] = "peaks include the resident weights of both encoders (resident_device_mib)"

    def measure(kind: str, items: list, seconds: np.ndarray, pipe: Callable, naive: Callable,
                naive_deadline: float, tol: float, units: Callable[[list], int] | None) -> dict[str, Any]:
        walls, peak, feats = [], None, None
        for _ in range(rounds):
            w, feats, p = timed(lambda: pipe(items), device)
            walls.append(w)
            peak = p if peak is None or (p is not None and p > peak) else peak
        audio_s = float(seconds.sum())
        best = min(walls)
        wn, nfeats, npeak = timed(lambda: naive(items, naive_deadline), device)
        done = len(nfeats)
        audio_done = float(seconds[:done].sum())
        out = {"utterances": len(items), "audio_seconds": round(audio_s, 1),
               "pipeline": {"wall_s": round(best, 4), "rounds_wall_s": [round(x, 4) for x in walls],
                            "audio_s_per_s": audio_s / best, "utt_per_s": len(items) / best,
                            "peak_device_mib": peak},
               "naive": {"wall_s": round(wn, 4), "utterances_done": done, "audio_seconds_done": round(audio_done, 1),
                         "truncated_at_deadline": done < len(items),
                         "audio_s_per_s": audio_done / wn, "utt_per_s": done / wn, "peak_device_mib": npeak}}
        if units is not None:
            out["pipeline"]["pieces_per_s"] = units(items) / best
            out["naive"]["pieces_per_s"] = units(items[:done]) / wn
        out["speedup"] = out["pipeline"]["audio_s_per_s"] / out["naive"]["audio_s_per_s"]
        out["agreement_naive_vs_pipeline"] = within(compare(feats[:done], nfeats), tol)
        if device.type != "cuda":
            out["peak_device_memory_note"] = "not measured on a CPU"
        return out

    tol = autocast_tolerance(amp)
    audio_deadline = now() + 0.65 * max(0.0, deadline - now())
    res["audio"] = measure("audio", waves[:n_audio], d[:n_audio], lambda w: pipeline_audio(enc.audio, w),
                           lambda w, dl: naive_audio(enc.audio_model, w, device, min(dl, audio_deadline)),
                           audio_deadline, tol, None)
    n_pieces = lambda ts: sum(len(t.keep) for t in enc.text.tokenize(ts))  # noqa: E731
    res["text"] = measure("text", texts[:n_text], d[:n_text], lambda t: pipeline_text(enc.text, t),
                          lambda t, dl: naive_text(enc.text, t, dl), deadline, tol, n_pieces)
    res["durations_s"] = stats(d)
    res["seconds"] = round(now() - start, 2)
    return res


# -- 3. parity -----------------------------------------------------------------------------------------

def extraction_parity(enc: Encoders, n: int, seed: int) -> dict[str, Any]:
    """The same ``n`` utterances through the pipeline on the CPU (float32) and on ``enc``'s device,
    in float32 and with the package's autocast."""
    import torch

    from pddslib.util.device import autocast_dtype

    d = utterance_durations(n, seed + 11)
    waves, texts = synth_waves(d, seed + 11), synth_texts(d, enc.words, seed + 11)
    ref_audio, ref_text = enc.cpu_copies()
    ref = {"audio": pipeline_audio(ref_audio, waves), "text": pipeline_text(ref_text, texts)}
    out: dict[str, Any] = {"utterances": n, "audio_seconds": round(float(d.sum()), 1),
                           "reference": "the pipeline on the CPU, float32, same weights",
                           "device": str(enc.device),
                           "float32_means": "autocast off and TF32 off (strict float32 on the device)",
                           "autocast_means": "as the package runs on the device (pddslib.util.device.autocast_dtype)"}
    with autocast_off(), strict_float32():
        got = {"audio": pipeline_audio(enc.audio, waves), "text": pipeline_text(enc.text, texts)}
    f32 = {k: within(compare(got[k], ref[k]), TOLERANCES["features_float32_rel_l2"]) for k in got}
    out["float32"] = {**f32, "ok": all(v["ok"] for v in f32.values())}
    amp = autocast_dtype(enc.device)
    if amp is None:
        out["autocast"] = {"skipped": f"the package uses no autocast on {enc.device.type}"}
    else:
        name = str(amp).replace("torch.", "")
        got = {"audio": pipeline_audio(enc.audio, waves), "text": pipeline_text(enc.text, texts)}
        ac = {k: within(compare(got[k], ref[k]), autocast_tolerance(name)) for k in got}
        out["autocast"] = {"dtype": name, **ac, "ok": all(v["ok"] for v in ac.values())}
    del ref_audio, ref_text
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return out


def training_parity(store: Path, test_device: Any, work: Path, *, epochs: int = 2, seed: int = 0,
                    strategy: str = "pdds") -> dict[str, Any]:
    """CLTNet (dropout off) for ``epochs`` epochs on the CPU and on ``test_device``, same seed and
    strategy (PDDS: the mixup runs on the device too): the per-epoch losses, strict float32 (TF32
    off) and with PyTorch's default settings."""
    from pddslib.config import RunSpec
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.one import run_one

    corpus = load_corpus(str(store))
    spec = RunSpec.build("cltnet", strategy, seed, max_epochs=epochs, model_overrides={"dropout": 0.0})
    ref, _ = run_one(spec, corpus, cache_dir=work / "runs-parity-cpu", device="cpu", recompute=True)
    out: dict[str, Any] = {"model": "cltnet", "strategy": strategy, "seed": seed, "epochs": epochs,
                           "model_overrides": {"dropout": 0.0},
                           "why_no_dropout": "dropout masks come from each device's own random stream",
                           "store": {"scale": corpus.scale, "utterances": len(corpus.store),
                                     "dims": dict(corpus.store.dims)},
                           "n_train": ref["n_train"], "cpu_losses": ref["losses"], "device": str(test_device)}
    ok = True
    for name, ctx, tol in (("strict_float32", strict_float32, TOLERANCES["train_loss_rel_strict_float32"]),
                           ("default_settings", contextlib.nullcontext, TOLERANCES["train_loss_rel_default"])):
        with ctx():
            rec, _ = run_one(spec, corpus, cache_dir=work / f"runs-parity-{name}", device=str(test_device),
                             recompute=True)
        rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(rec["losses"], ref["losses"])]
        entry = {"losses": rec["losses"], "max_rel_diff": max(rel) if rel else None, "tolerance_rel": tol,
                 "ok": bool(rel) and len(rec["losses"]) == len(ref["losses"]) and max(rel) <= tol}
        out[name] = entry
        ok = ok and entry["ok"]
    out["ok"] = ok
    return out


def part_parity(args: argparse.Namespace, device: Any, deadline: float, enc: Encoders | None,
                work: Path) -> dict[str, Any]:
    start = now()
    res: dict[str, Any] = {"tolerances": dict(TOLERANCES)}
    if device.type != "cuda":
        res["extraction"] = {"skipped": "no CUDA: the CPU-vs-CUDA comparison needs a GPU"}
        res["training"] = {"skipped": "no CUDA: the CPU-vs-CUDA comparison needs a GPU"}
        res["autocast_on_cpu"] = {"skipped": "the package extracts and trains without autocast on a CPU "
                                             "(pddslib.util.device.autocast_dtype is None there): nothing to compare"}
        res["seconds"] = round(now() - start, 2)
        return res
    assert enc is not None
    res["extraction"] = extraction_parity(enc, PARITY_UTTERANCES, args.seed)
    if now() > deadline:
        res["training"] = {"skipped": "time budget spent"}
    else:
        from pddslib.features import demo_stores

        t = now()
        store = demo_stores.write_demo_store(work / "store-parity", scale=PARITY_SCALE,
                                             audio_dim=512, text_dim=768, frame_rate=50.0)
        res["training"] = training_parity(store, device, work, epochs=2, seed=args.seed)
        res["training"]["seconds"] = round(now() - t, 2)
    res["seconds"] = round(now() - start, 2)
    return res


