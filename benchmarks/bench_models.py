"""Training throughput of the registered models on synthetic IEMOCAP-like batches.

One training step is forward + KL loss (Eq. 6) + backward + Adam step, the work of the real
training loop. Batches have realistic shapes: audio of about 225 frames of 512-d (4.5 s of
data2vec frames at a 20 ms hop) and text of about 24 BERT tokens of 768-d, with lengths drawn
around those means so that padding and packing are exercised as in training.

Usage::

    python benchmarks/bench_models.py                     # every model, CUDA if available
    python benchmarks/bench_models.py --models cltnet mat --steps 20 --json bench.json
    python benchmarks/bench_models.py --device cpu --threads 2

This is a script, not a test: it prints a table (model, parameters, samples/s, ms/step).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime

import torch
import torch.nn.functional as F

from pddslib.models import MODEL_NAMES, build_model, common, count_parameters


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    p.add_argument("--batch-size", type=int, default=64, help="samples per step (paper: 64)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    p.add_argument("--audio-dim", type=int, default=512, help="audio frame size (data2vec)")
    p.add_argument("--text-dim", type=int, default=768, help="text token size (BERT-base)")
    p.add_argument("--audio-frames", type=int, default=225, help="mean audio length (frames)")
    p.add_argument("--text-tokens", type=int, default=24, help="mean text length (tokens)")
    p.add_argument("--n-classes", type=int, default=6)
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    p.add_argument(
        "--threads", type=int, default=None,
        help="CPU intra-op threads (default: the usable CPU cores); ignored on CUDA",
    )
    p.add_argument(
        "--pack", choices=("auto", "always", "never"), default="auto",
        help="LSTMs on packed sequences; auto: on CUDA only (models.common.PACK_SEQUENCES)",
    )
    p.add_argument("--n-batches", type=int, default=4, help="distinct synthetic batches cycled")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p.parse_args(argv)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def random_lengths(mean: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` lengths uniform in [0.4, 1.6] x ``mean`` (at least 1)."""
    lo, hi = max(1, round(0.4 * mean)), max(1, round(1.6 * mean))
    return torch.randint(lo, hi + 1, (n,), generator=generator)


def synthetic_batches(args: argparse.Namespace, device: torch.device, generator: torch.Generator):
    """``args.n_batches`` padded batches with random lengths and soft targets, on ``device``."""
    batches = []
    for _ in range(args.n_batches):
        la = random_lengths(args.audio_frames, args.batch_size, generator)
        lt = random_lengths(args.text_tokens, args.batch_size, generator)
        ta, tt = int(la.max()), int(lt.max())
        audio = torch.randn(args.batch_size, ta, args.audio_dim, generator=generator)
        text = torch.randn(args.batch_size, tt, args.text_dim, generator=generator)
        audio *= (torch.arange(ta)[None, :] < la[:, None]).unsqueeze(-1)
        text *= (torch.arange(tt)[None, :] < lt[:, None]).unsqueeze(-1)
        # soft label distributions, as PDDS produces
        targets = torch.distributions.Dirichlet(torch.full((args.n_classes,), 0.3)).sample(
            (args.batch_size,)
        )
        batches.append(tuple(t.to(device) for t in (audio, la, text, lt, targets)))
    return batches


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_model(name: str, args: argparse.Namespace, device: torch.device, batches) -> dict:
    torch.manual_seed(args.seed)
    model = build_model(
        name, audio_dim=args.audio_dim, text_dim=args.text_dim, n_classes=args.n_classes
    ).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)

    def step(i: int) -> float:
        audio, la, text, lt, targets = batches[i % len(batches)]
        opt.zero_grad(set_to_none=True)
        logits = model(audio, la, text, lt)
        loss = F.kl_div(F.log_softmax(logits, dim=-1), targets, reduction="batchmean")
        loss.backward()
        opt.step()
        return loss

    for i in range(args.warmup):
        step(i)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for i in range(args.steps):
        loss = step(args.warmup + i)
    sync(device)
    seconds = time.perf_counter() - start
    result = {
        "model": name,
        "parameters": count_parameters(model),
        "samples_per_s": args.batch_size * args.steps / seconds,
        "ms_per_step": 1000 * seconds / args.steps,
        "final_loss": loss.item(),
    }
    if device.type == "cuda":
        result["peak_memory_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def format_table(results: list[dict]) -> str:
    cuda = any("peak_memory_mib" in r for r in results)
    header = ["model", "parameters", "samples/s", "ms/step"] + (["peak MiB"] if cuda else [])
    rows = [
        [
            r["model"],
            f"{r['parameters']:,}",
            f"{r['samples_per_s']:.1f}",
            f"{r['ms_per_step']:.0f}",
        ]
        + ([f"{r['peak_memory_mib']:.0f}"] if cuda else [])
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(  # noqa: E731
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    ) + " |"
    sep = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    common.PACK_SEQUENCES = {"auto": None, "always": True, "never": False}[args.pack]
    if device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        torch.set_num_threads(args.threads or cores or 1)
    torch.manual_seed(args.seed)  # the Dirichlet targets
    generator = torch.Generator().manual_seed(args.seed)
    batches = synthetic_batches(args, device, generator)
    env = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu_threads": torch.get_num_threads() if device.type == "cpu" else None,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "models")}
    print(
        f"# {env['date']}, device {env['device']}"
        + (f" ({env['cpu_threads']} threads)" if device.type == "cpu" else "")
        + f", torch {env['torch']}, LSTM packing {args.pack}; batch {args.batch_size}, "
        f"audio ~{args.audio_frames}x{args.audio_dim}, text ~{args.text_tokens}x{args.text_dim}, "
        f"{args.warmup} warm-up + {args.steps} timed steps",
        flush=True,
    )
    results = []
    for name in args.models:
        results.append(bench_model(name, args, device, batches))
        r = results[-1]
        print(f"  {name}: {r['samples_per_s']:.1f} samples/s", file=sys.stderr, flush=True)
    print(format_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"environment": env, "settings": settings, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
