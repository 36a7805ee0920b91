"""Table 1's training speed-ups, each measured as a ratio against the code without it, same runs.

Issue 13 asks for Table 1 at IEMOCAP scale in ten minutes on one GPU, and for every step towards
it to be measured on the CPU as a ratio against today's code. The steps:

1. **no read-back per step**: :func:`pddslib.runs.training.train_model` as it is (the loss summed on the
   device and read once per epoch, batch order uploaded once per epoch, padded lengths from host
   arrays) against the same loop reading the loss back after every step, as it did before
   2026-11-27 (re-created here by wrapping ``kl_loss``). On a GPU each read-back stalls the launch
   queue; on a CPU there is no queue, so the ratio is expected near 1;
2. **concurrent runs** (:mod:`pddslib.runs.workers`): ``--runs`` runs one after the other in this
   process, torch using every CPU, against the same runs ``--jobs`` at a time in worker processes
   with one thread each (start-up included);
3. **bf16 autocast** on the CPU (which the package does not use there: ``device.autocast_dtype``
   returns None on a CPU) against float32;
4. **torch.compile** (``--compile``; the compile time is reported apart) against eager.

Steps 1, 3 and 4 train the same CLTNet run (PDDS rows of the corpus, ``--epochs``) with
:func:`~pddslib.runs.training.train_model`; step 2 trains through :func:`pddslib.runs.sweep.run_specs`.
The corpus is the demo corpus at ``--scale`` with the demo's defaults (narrow models, 32-d frames
at 5 Hz), i.e. what ``make demo`` trains; ``--paper-widths`` uses the paper's model widths.
Each variant is timed ``--repeats`` times (alternating), the median kept. Timings on a busy
machine are not measurements: run it on a quiet one.

Usage::

    PYTHONPATH=. python benchmarks/bench_table1.py --json benchmarks/results/table1-speedups-cpu.json
    PYTHONPATH=. python benchmarks/bench_table1.py --compile --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_host import median_time

from pddslib.config import DEMO_EPOCHS, DEMO_MODEL_OVERRIDES, RunSpec
from pddslib.corpora import demo
from pddslib.features import demo_stores
from pddslib.models import build_model
from pddslib.runs import training
from pddslib.runs.corpus import load_corpus
from pddslib.runs.one import fit_sampler
from pddslib.runs.sweep import run_specs
from pddslib.runs.workers import cpu_count


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=demo.DEFAULT_SCALE, help="demo corpus size (fraction of IEMOCAP)")
    p.add_argument("--epochs", type=int, default=DEMO_EPOCHS, help="epochs per run")
    p.add_argument("--runs", type=int, default=4, help="runs of the concurrency step (CLTNet, none/pdds x seeds)")
    p.add_argument("--jobs", type=int, default=None, help="concurrent runs (default: one per CPU)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats of each variant (median kept)")
    p.add_argument("--paper-widths", action="store_true", help="the paper's model widths, not the demo's")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile on a CPU)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p.parse_args(argv)


class Run:
    """One CLTNet training run (PDDS rows, fixed seed) that the variants repeat."""

    def __init__(self, corpus: Any, epochs: int, overrides: dict[str, Any]) -> None:
        self.spec = RunSpec.build("cltnet", "pdds", 0, max_epochs=epochs, model_overrides=overrides)
        self.store = corpus.store
        sampler, rows = fit_sampler(self.spec, self.store)
        self.sources = rows[sampler.sample_indices_]  # (N, 2) store rows
        self.weights = sampler.mix_weights_
        self.targets = sampler.y_resampled_
        self.align = sampler.align
        self.banks = {m: training.SequenceBank(self.store.arrays[m], self.store.offsets[m], torch.device("cpu"))
                      for m in ("audio", "text")}
        self.overrides = overrides

    def model(self) -> torch.nn.Module:
        training.seed_everything(0)
        return build_model("cltnet", audio_dim=self.store.dims["audio"], text_dim=self.store.dims["text"],
                           **self.overrides)

    def train(self, model: torch.nn.Module | None = None) -> list[float]:
        res = training.train_model(model if model is not None else self.model(), self.banks, self.sources,
                                   self.weights, self.targets, self.spec.train, seed=0, align=self.align)
        return res.losses


def step_readback(run: Run, repeats: int) -> dict[str, Any]:
    """Today's loop against one that reads the loss back after every step."""
    original = training.kl_loss

    def reading(*a: Any, **k: Any) -> torch.Tensor:
        loss = original(*a, **k)
        float(loss.detach())  # the per-step read-back of the former loop
        return loss

    now_s, now_all = median_time(run.train, repeats)
    training.kl_loss = reading
    try:
        before_s, before_all = median_time(run.train, repeats)
    finally:
        training.kl_loss = original
    return {"baseline": "a read of the loss after every step", "baseline_s": round(before_s, 3),
            "now_s": round(now_s, 3), "speedup": round(before_s / now_s, 3),
            "walls": {"baseline": before_all, "now": now_all}}


def step_bf16(run: Run, repeats: int) -> dict[str, Any]:
    """float32 against bf16 autocast on the CPU (train_model with amp=True, the CPU let in)."""
    import dataclasses

    f32_s, f32_all = median_time(run.train, repeats)
    original_spec, original_dtype = run.spec, training.autocast_dtype
    run.spec = dataclasses.replace(run.spec, train=dataclasses.replace(run.spec.train, amp=True))
    training.autocast_dtype = lambda device: torch.bfloat16
    try:
        bf_s, bf_all = median_time(run.train, repeats)
        losses = run.train()
    finally:
        run.spec, training.autocast_dtype = original_spec, original_dtype
    ref = run.train()
    return {"baseline": "float32", "baseline_s": round(f32_s, 3), "now_s": round(bf_s, 3),
            "speedup": round(f32_s / bf_s, 3), "walls": {"baseline": f32_all, "now": bf_all},
            "max_rel_loss_diff": float(np.max(np.abs(np.array(losses) - ref) / np.abs(ref)))}


def step_compile(run: Run, repeats: int) -> dict[str, Any]:
    """Eager against ``torch.compile(model, dynamic=True)``; the first (compiling) run is timed apart."""
    eager_s, eager_all = median_time(run.train, repeats)
    t = time.perf_counter()
    compiled = torch.compile(run.model(), dynamic=True)
    run.train(compiled)
    first = time.perf_counter() - t
    comp_s, comp_all = median_time(lambda: run.train(torch.compile(run.model(), dynamic=True)), repeats)
    return {"baseline": "eager", "baseline_s": round(eager_s, 3), "now_s": round(comp_s, 3),
            "speedup": round(eager_s / comp_s, 3), "first_run_with_compilation_s": round(first, 2),
            "walls": {"baseline": eager_all, "now": comp_all}}


def step_concurrent(corpus: Any, epochs: int, overrides: dict[str, Any], runs: int, jobs: int,
                    repeats: int) -> dict[str, Any]:
    """``runs`` runs one at a time (all CPUs) against ``jobs`` at once (one thread each)."""
    specs = [RunSpec.build("cltnet", s, seed, max_epochs=epochs, model_overrides=overrides)
             for seed in range(max(1, runs // 2)) for s in ("none", "pdds")][:runs]
    threads = torch.get_num_threads()
    out: dict[str, Any] = {"runs": len(specs), "jobs": jobs, "threads_one_at_a_time": threads}
    was = {}
    for name, n in (("baseline", 1), ("now", jobs)):
        def sweep(name: str = name, n: int = n) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                res = run_specs(specs, corpus, cache_dir=tmp, device="cpu", jobs=n, progress=False, log=None,
                                save_model=False)
                was[name] = res.runs["wa"].to_numpy()
        out[f"{name}_s"], out.setdefault("walls", {})[name] = median_time(sweep, repeats)
        from pddslib.runs.workers import shutdown

        shutdown()  # each repeat pays the workers' start-up, as a notebook's first sweep does
    out["baseline"] = f"one at a time, torch with {threads} threads"
    out["speedup"] = round(out["baseline_s"] / out["now_s"], 3)
    out["baseline_s"], out["now_s"] = round(out["baseline_s"], 3), round(out["now_s"], 3)
    out["same_wa"] = bool(np.allclose(was["baseline"], was["now"], atol=0.02))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    jobs = args.jobs or cpu_count()
    overrides = {} if args.paper_widths else DEMO_MODEL_OVERRIDES["cltnet"]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = load_corpus(str(demo_stores.write_demo_store(Path(tmp) / "store", scale=args.scale)))
        run = Run(corpus, args.epochs, overrides)
        run.train()  # warm-up (allocator, first-call costs)
        result: dict[str, Any] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": cpu_count(), "processor": platform.processor() or platform.machine(),
                        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                        "load_average_at_start": os.getloadavg()},
            "args": vars(args), "corpus": {"scale": args.scale, "train_rows_pdds": int(len(run.sources)),
                                           "model_overrides": overrides, "epochs": args.epochs},
            "steps": {},
        }
        steps = result["steps"]
        steps["no_readback_per_step"] = step_readback(run, args.repeats)
        steps["concurrent_runs"] = step_concurrent(corpus, args.epochs, overrides, args.runs, jobs, args.repeats)
        steps["bf16_autocast_cpu"] = step_bf16(run, args.repeats)
        if args.compile:
            steps["torch_compile"] = step_compile(run, args.repeats)
        result["load_average_at_end"] = os.getloadavg()
    print(f"Table 1 training speed-ups on this CPU ({cpu_count()} CPUs, torch {torch.__version__}; "
          f"CLTNet, demo corpus scale {args.scale:g}, {args.epochs} epochs; median of {args.repeats})")
    print(f"{'step':24s} {'baseline':44s} {'baseline s':>10s} {'now s':>8s} {'ratio':>7s}")
    for name, st in steps.items():
        print(f"{name:24s} {st['baseline'][:44]:44s} {st['baseline_s']:10.2f} {st['now_s']:8.2f} "
              f"{st['speedup']:6.2f}x")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = path.with_name(path.name + ".tmp")
        tmp_path.write_text(json.dumps(result, indent=1, default=float) + "\n")
        os.replace(tmp_path, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
