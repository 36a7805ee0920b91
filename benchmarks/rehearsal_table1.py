"""The GPU rehearsal's part 4 (see ``rehearsal.py``): Table 1's cost at IEMOCAP scale and its projection."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rehearsal_kit import PAPER_EPOCHS, now, peak_mib, reset_peak, sync

# -- 4. Table 1's cost ---------------------------------------------------------------------------------

@contextlib.contextmanager
def epoch_clock(log: list[list[float]]) -> Iterator[None]:
    """Record each training run's per-epoch wall times (appended to ``log``, one list per run).

    :func:`pddslib.runs.one.run_one` imports :func:`pddslib.runs.training.train_model` when it trains;
    inside the block that name is a wrapper that chains a timing callback onto ``on_epoch``. If the
    runner ever calls it differently, the wrapper steps aside and nothing is logged (the caller then
    falls back to the run's seconds divided by its epochs).
    """
    import pddslib.runs.training as training

    orig = training.train_model

    def wrapper(*a: Any, **kw: Any) -> Any:
        if len(a) > 8:  # on_epoch given by position: leave the call alone
            return orig(*a, **kw)
        marks = [now()]
        user = kw.get("on_epoch")

        def on_epoch(epoch: int, loss: float) -> None:
            marks.append(now())  # the epoch's losses were read back: the device is synchronised
            if user is not None:
                user(epoch, loss)

        kw["on_epoch"] = on_epoch
        try:
            return orig(*a, **kw)
        finally:
            log.append(np.diff(marks).tolist())

    training.train_model = wrapper
    try:
        yield
    finally:
        training.train_model = orig


def fig6_p_values() -> tuple[float, ...]:
    from pddslib.paper import experiments

    return tuple(inspect.signature(experiments.fig6).parameters["p_values"].default)


def iemocap_sizes() -> dict[str, Any]:
    """Training-set sizes at IEMOCAP's scale (sessions 1-4): the packaged counts and each strategy's plan.

    ``n_train = six-class training utterances + the plan's new samples``; the demo corpus at scale 1
    reproduces these counts, so its fitted samplers give the same sizes.
    """
    from pddslib.config import default_of
    from pddslib.pdds.counts import CountTable
    from pddslib.pdds.registry import STRATEGIES, plan_for
    from pddslib.reference import iemocap_reference

    ref = iemocap_reference()
    counts = CountTable.from_dict(ref["counts"]["train"], source="reference:train")
    six = int(sum(ref["six_class"]["train"].values()))
    sizes = {s: six + int(plan_for(s, counts).new_samples) for s in STRATEGIES}
    for p in fig6_p_values():
        sizes[f"pdds_p{float(p):g}"] = six + int(plan_for("pdds", counts, p=float(p)).new_samples)
    return {"n_train": sizes, "source": "packaged IEMOCAP counts (sessions 1-4) and each strategy's plan, "
                                        f"default parameters (uniform level {default_of('uniform', 'level')!s})",
            "default_p": float(default_of("pdds", "p"))}


def corpus_sizes(corpus: Any, scale: float) -> dict[str, Any]:
    """Training-set size of each strategy on the measured corpus (its fitted sampler), or why none fits."""
    from pddslib.config import RunSpec, corpus_defaults
    from pddslib.pdds.registry import STRATEGIES
    from pddslib.runs.one import fit_sampler

    level = corpus_defaults(synthetic=True, scale=scale)["params"]["level"]
    sizes: dict[str, int] = {}
    errors: dict[str, str] = {}
    for s in STRATEGIES:
        try:
            sampler, _ = fit_sampler(RunSpec.build("cltnet", s, 0, level=level), corpus.store)
            sizes[s] = int(len(sampler.sample_indices_))
        except ValueError as err:  # a corpus too small for the strategy (e.g. one clear happiness sample)
            errors[s] = str(err)
    return {"n_train": sizes, "errors": errors, "uniform_level": level}


def probe_costs(models: Sequence[str], corpus: Any, device: Any, seed: int, batch: int = 8) -> dict[str, Any]:
    """Seconds per training sample of each model from one timed step (after one warm-up step).

    A step is what :func:`pddslib.runs.training.train_model` does per batch (forward, KL loss, backward,
    Adam), on a random batch with the corpus's lengths and dimensions. It orders the runs (cheap
    first), keeps a run that would not fit the budget from starting, and stands in for a model
    whose run was skipped (marked as such in the projection).
    """
    import torch

    from pddslib.models import build_model, count_parameters
    from pddslib.runs.training import kl_loss

    st = corpus.store
    rng = np.random.default_rng([seed, 104])
    rows = rng.choice(len(st), size=min(batch, len(st)), replace=False)
    la = torch.as_tensor(st.lengths("audio")[rows], dtype=torch.long)
    lt = torch.as_tensor(st.lengths("text")[rows], dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    xa = torch.randn(len(rows), int(la.max()), st.dims["audio"], generator=gen)
    xt = torch.randn(len(rows), int(lt.max()), st.dims["text"], generator=gen)
    xa *= (torch.arange(xa.shape[1])[None] < la[:, None]).unsqueeze(-1)
    xt *= (torch.arange(xt.shape[1])[None] < lt[:, None]).unsqueeze(-1)
    y = torch.softmax(torch.randn(len(rows), len(st.classes), generator=gen), -1)
    xa, xt, la, lt, y = (v.to(device) for v in (xa, xt, la, lt, y))
    out: dict[str, Any] = {}
    for m in models:
        torch.manual_seed(seed)
        model = build_model(m, audio_dim=st.dims["audio"], text_dim=st.dims["text"],
                            n_classes=len(st.classes)).to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        walls = []
        for _ in range(2):
            sync(device)
            t = now()
            loss = kl_loss(model(xa, la, xt, lt), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sync(device)
            walls.append(now() - t)
        out[m] = {"seconds_per_sample": walls[1] / len(rows), "step_s": [round(w, 4) for w in walls],
                  "batch": len(rows), "parameters": int(count_parameters(model))}
        del model, opt
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def _steady(epochs: list[float]) -> tuple[float, str]:
    if len(epochs) >= 2:
        return float(np.median(epochs[1:])), "median of the epochs after the first"
    return float(epochs[0]), "the only timed epoch (includes warm-up)"


def run_entry(rec: dict[str, Any], epoch_s: list[float] | None, wall: float, peak: float | None) -> dict[str, Any]:
    if not epoch_s:  # the per-epoch clock did not run: the runner's seconds over its epochs
        epoch_s = [rec["seconds"] / max(1, rec["epochs"])] * rec["epochs"]
        source = "run seconds / epochs (no per-epoch clock)"
    else:
        source = "per-epoch clock"
    steady, how = _steady(epoch_s)
    return {"model": rec["model"], "strategy": rec["strategy"], "status": "ok", "n_train": rec["n_train"],
            "epochs": rec["epochs"], "epoch_s": [round(x, 4) for x in epoch_s], "epoch_s_source": source,
            "steady_epoch_s": round(steady, 4), "steady_epoch_how": how,
            "first_epoch_extra_s": round(max(0.0, epoch_s[0] - steady), 4),
            "run_seconds": rec["seconds"], "wall_s": round(wall, 3),
            "overhead_s": round(max(0.0, wall - sum(epoch_s)), 3),
            "seconds_per_sample_epoch": steady / max(1, rec["n_train"]),
            "peak_device_mib": peak, "losses": rec["losses"],
            "wa_after_these_epochs": rec["wa"], "ua_after_these_epochs": rec["ua"]}


def _estimate(model: str, n_train: int, epochs: int, runs: list[dict[str, Any]],
              probe: dict[str, Any]) -> float:
    """Expected wall seconds of a run: from the model's runs so far, else from its probe step."""
    ok = [r for r in runs if r["status"] == "ok"]
    same = [r for r in ok if r["model"] == model]
    if same:
        per = float(np.mean([r["seconds_per_sample_epoch"] for r in same]))
        extra = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in same]))
    else:
        per = probe[model]["seconds_per_sample"]
        extra = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in ok])) if ok else 0.0
    return extra + epochs * per * n_train


def project(runs: list[dict[str, Any]], sizes: dict[str, Any], seeds: int, measured_scale: float,
            probe: dict[str, Any] | None = None, epochs: int = PAPER_EPOCHS) -> dict[str, Any]:
    """Projected wall time of the paper's runs at IEMOCAP scale, ``epochs`` epochs, from the measured runs.

    Per model: ``run_s(n_train) = overhead_s + epochs x seconds_per_sample_epoch x n_train``, where
    ``seconds_per_sample_epoch`` is the mean over the model's measured runs of (steady epoch
    seconds / the run's n_train), ``overhead_s`` the mean of (wall - sum of epochs) + (first epoch
    - steady epoch): model build, sampler, prediction and warm-up, once per run; ``n_train`` is
    IEMOCAP's (:func:`iemocap_sizes`). Early stopping (patience 10) can only shorten a run, so the
    training part is an upper bound. A model without a measured run is projected from its probe step
    (:func:`probe_costs`, overhead: the mean of the measured runs) and listed in
    ``models_from_probe``; without a probe either, it is missing and its artifacts are incomplete.
    """
    from pddslib.paper.experiments import TABLE1_MODELS
    from pddslib.pdds.registry import STRATEGIES

    n_train = sizes["n_train"]
    per_model: dict[str, Any] = {}
    for m in TABLE1_MODELS:
        ok = [r for r in runs if r["model"] == m and r["status"] == "ok"]
        if not ok:
            continue
        per = float(np.mean([r["seconds_per_sample_epoch"] for r in ok]))
        over = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in ok]))
        per_model[m] = {"source": "runs", "seconds_per_sample_epoch": per, "overhead_s": round(over, 3),
                        "measured_runs": [r["strategy"] for r in ok]}
    measured = [r for r in runs if r["status"] == "ok"]
    mean_over = float(np.mean([r["overhead_s"] + r["first_epoch_extra_s"] for r in measured])) if measured else 0.0
    for m in TABLE1_MODELS:
        if m not in per_model and probe and m in probe:
            per_model[m] = {"source": "probe", "seconds_per_sample_epoch": probe[m]["seconds_per_sample"],
                            "overhead_s": round(mean_over, 3), "measured_runs": []}
    for _m, pm in per_model.items():
        pm["run_s"] = {s: round(pm["overhead_s"] + epochs * pm["seconds_per_sample_epoch"] * n_train[s], 2)
                       for s in ("none", "pdds")}

    def run_s(model: str, key: str) -> float | None:
        pm = per_model.get(model)
        return None if pm is None else pm["overhead_s"] + epochs * pm["seconds_per_sample_epoch"] * n_train[key]

    default_p = sizes["default_p"]
    artifacts = {
        "table1": [(m, s, None) for m in TABLE1_MODELS for s in ("none", "pdds")],
        "table2": [("cltnet", s, None) for s in STRATEGIES],
        "fig5": [("cltnet", s, None) for s in ("none", "pdds")],
        "fig6": [("cltnet", "pdds", float(p)) for p in fig6_p_values()],
    }
    out_art: dict[str, Any] = {}
    unique: dict[tuple, float | None] = {}  # (model, strategy, p): the run cache shares equal runs
    for name, items in artifacts.items():
        total, miss = 0.0, set()
        for m, s, p in items:
            t = run_s(m, s if p is None else f"pdds_p{p:g}")
            unique[(m, s, default_p if (s == "pdds" and p is None) else p)] = t
            if t is None:
                miss.add(m)
            else:
                total += seeds * t
        out_art[name] = {"runs": seeds * len(items), "seconds": round(total, 1), "hours": round(total / 3600, 3),
                         "complete": not miss, **({"missing_models": sorted(miss)} if miss else {})}
    missing = sorted({k[0] for k, t in unique.items() if t is None})
    standalone = sum(a["seconds"] for a in out_art.values())
    shared = seeds * sum(t for t in unique.values() if t is not None)
    return {
        "epochs": epochs, "seeds": seeds, "at": "IEMOCAP scale", "measured_on_scale": measured_scale,
        "formula": "run_s = overhead_s + epochs * seconds_per_sample_epoch * n_train; artifact_s = seeds * sum(run_s)",
        "n_train": n_train, "n_train_source": sizes["source"], "default_p": default_p,
        "per_model": per_model, "artifacts": out_art,
        "total_standalone_s": round(standalone, 1), "total_standalone_hours": round(standalone / 3600, 3),
        "unique_runs": seeds * len(unique), "total_with_run_cache_s": round(shared, 1),
        "total_with_run_cache_hours": round(shared / 3600, 3),
        "run_cache_note": "the notebooks share runs through the run cache: Table 2's none/pdds rows, Fig. 5 "
                          "and Fig. 6 at the default p are Table 1's CLTNet runs",
        "complete": not missing, "missing_models": missing,
        "models_from_probe": sorted(m for m, pm in per_model.items() if pm["source"] == "probe"),
        **({"small_corpus_note": "costs per sample were measured on a corpus smaller than IEMOCAP: fewer batches, "
                                 "each padded to longer lengths, and one-epoch warm-up; they overstate IEMOCAP's"}
           if measured_scale < 1 else {}),
    }


def concurrency(corpus: Any, device: Any, args: argparse.Namespace, work: Path, deadline: float,
                runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput of concurrent runs (:mod:`pddslib.runs.workers`) against one run at a time, same runs.

    ``jobs`` one-epoch CLTNet runs (without PDDS, seeds 0..jobs-1) are trained one after the other
    in this process, then the same runs ``jobs`` at a time in worker processes (their start-up, store
    opening and feature loading included: ``speedup_with_startup``), then ``jobs`` other seeds on
    the started workers (``speedup``, what a sweep's later runs see; the projection divides by it).
    Skipped when the three would not fit what is left of the budget (estimated from the model's
    measured run).
    """
    from pddslib.config import RunSpec
    from pddslib.runs.sweep import run_specs
    from pddslib.runs.workers import GPU_JOBS, cpu_count

    jobs = args.jobs or (GPU_JOBS if device.type == "cuda" else max(2, min(4, cpu_count())))
    model = "cltnet" if "cltnet" in args.models else args.models[0]
    done = [r for r in runs if r["model"] == model and r["strategy"] == "none" and r["status"] == "ok"]
    if not done:
        return {"skipped": f"no measured {model} run without PDDS to size it"}
    one = done[0]["wall_s"] / max(1, done[0]["epochs"])  # about one epoch's run
    left = deadline - now()
    if 3.3 * jobs * one > left:
        return {"skipped": f"{jobs} runs of about {one:.0f} s three times would not fit the {max(left, 0):.0f} s left",
                "jobs": jobs}
    specs = [RunSpec.build(model, "none", seed, max_epochs=1) for seed in range(jobs)]
    warm_specs = [RunSpec.build(model, "none", seed, max_epochs=1) for seed in range(jobs, 2 * jobs)]
    walls, was = {}, {}
    # one at a time; then concurrently with the workers' start-up (spawn, imports, store, feature
    # banks), then again on the started workers (other seeds): what every later run of a sweep sees
    for name, n, todo in (("one_at_a_time", 1, specs), ("concurrent", jobs, specs), ("concurrent_warm", jobs, warm_specs)):
        t = now()
        res = run_specs(todo, corpus, cache_dir=work / f"concurrency-{name}", device=str(device), jobs=n,
                        progress=False, log=None, save_model=False, recompute=True)
        walls[name] = now() - t
        was[name] = res.runs["wa"].to_numpy()
    from pddslib.runs.workers import shutdown

    shutdown()  # the workers hold the feature banks in device memory
    out = {"model": model, "strategy": "none", "epochs": 1, "runs": jobs, "jobs": jobs,
           "one_at_a_time_s": round(walls["one_at_a_time"], 4), "concurrent_s": round(walls["concurrent"], 4),
           "concurrent_warm_s": round(walls["concurrent_warm"], 4),
           "speedup_with_startup": round(walls["one_at_a_time"] / walls["concurrent"], 3),
           "speedup": round(walls["one_at_a_time"] / walls["concurrent_warm"], 3),
           "same_wa_as_one_at_a_time": bool(np.allclose(was["concurrent"], was["one_at_a_time"], atol=0.02)),
           "note": "speedup: one at a time against concurrent runs on started workers (seeds jobs..2 jobs-1, the "
                   "same work); speedup_with_startup includes the workers' start-up and feature loading, paid "
                   "once per sweep"}
    print(f"  concurrency: {jobs} x {model} 1 epoch: one at a time {out['one_at_a_time_s']:.1f} s, {jobs} at once "
          f"{out['concurrent_s']:.1f} s with start-up (x{out['speedup_with_startup']:.2f}), "
          f"{out['concurrent_warm_s']:.1f} s started (x{out['speedup']:.2f})", flush=True)
    return out


def part_table1(args: argparse.Namespace, device: Any, deadline: float, work: Path) -> dict[str, Any]:
    """One run per model and strategy on the demo corpus at the paper's shapes; the projection."""
    from pddslib.config import RunSpec
    from pddslib.features import demo_stores
    from pddslib.runs.corpus import load_corpus
    from pddslib.runs.one import run_one

    start = now()
    t = now()
    path = demo_stores.write_demo_store(work / "store-table1", scale=args.scale, audio_dim=512, text_dim=768,
                                        frame_rate=50.0)
    write_s = now() - t
    t = now()
    corpus = load_corpus(str(path))
    open_s = now() - t
    st = corpus.store
    res: dict[str, Any] = {
        "corpus": {"name": corpus.name, "scale": args.scale, "utterances": len(st),
                   "train": int(len(st.split_indices("train"))), "test": int(len(st.split_indices("test"))),
                   "dims": dict(st.dims), "frame_rate_hz": 50.0,
                   "audio_frames": int(st.arrays["audio"].shape[0]), "text_pieces": int(st.arrays["text"].shape[0]),
                   "audio_frames_per_utterance": round(st.arrays["audio"].shape[0] / max(1, len(st)), 1),
                   "gib": round(sum(a.nbytes for a in st.arrays.values()) / 2**30, 3),
                   "dtype": str(st.arrays["audio"].dtype), "write_s": round(write_s, 2), "open_s": round(open_s, 2)},
        "epochs_per_run": args.epochs, "models": list(args.models),
        "settings": "RunSpec.build(model, strategy, seed, max_epochs=epochs): the paper's training settings and "
                    "model widths (no demo overrides), through pddslib.runs.one.run_one(recompute=True)",
    }
    t = now()
    fitted = corpus_sizes(corpus, args.scale)
    sizes = iemocap_sizes()
    res["sampler_s"] = round(now() - t, 2)
    res["n_train_on_this_corpus"] = fitted
    t = now()
    try:  # the runner keeps the feature banks in memory between runs: load them once, outside the runs
        from pddslib.runs.training import feature_banks

        feature_banks(st, device)
        sync(device)
        res["bank_load_s"] = round(now() - t, 2)
        if device.type == "cuda":
            import torch

            res["resident_device_mib"] = round(torch.cuda.memory_allocated(device) / 2**20, 1)
            res["peak_device_memory_note"] = "peaks include the resident feature banks (resident_device_mib)"
    except (ImportError, TypeError) as err:  # a private helper that changed: the first run pays instead
        res["bank_load_s"] = f"not preloaded ({type(err).__name__}: {err})"
    t = now()
    probe = probe_costs(args.models, corpus, device, args.seed, batch=16 if device.type == "cuda" else 4)
    res["probe"] = probe
    res["probe_s"] = round(now() - t, 2)
    cheap_first = sorted(args.models, key=lambda m: probe[m]["seconds_per_sample"])
    order = [(m, "none") for m in cheap_first] + [(m, "pdds") for m in cheap_first]
    runs: list[dict[str, Any]] = []
    for m, s in order:
        if s not in fitted["n_train"]:
            why = f"the corpus at scale {args.scale:g} is too small for {s}: {fitted['errors'][s]}"
            runs.append({"model": m, "strategy": s, "status": "skipped", "reason": why, "n_train": None})
            print(f"  table1 {m} {s}: skipped (corpus too small for {s})", flush=True)
            continue
        n = fitted["n_train"][s]
        left = deadline - now()
        est = _estimate(m, n, args.epochs, runs, probe)
        first = not any(r["status"] == "ok" for r in runs)  # one measured run at least, if any time is left
        if left <= 0 or (est > left and not first):
            why = "time budget spent" if left <= 0 else f"would take about {est:.0f} s, {max(left, 0):.0f} s left"
            runs.append({"model": m, "strategy": s, "status": "skipped", "reason": why,
                         "estimated_s": round(est, 1), "n_train": n})
            print(f"  table1 {m} {s}: skipped ({why})", flush=True)
            continue
        spec = RunSpec.build(m, s, args.seed, max_epochs=args.epochs)
        log: list[list[float]] = []
        reset_peak(device)
        t = now()
        try:
            with epoch_clock(log), warnings.catch_warnings():
                # WA/UA after one or two epochs mean nothing here; a tiny test split lacks classes
                warnings.filterwarnings("ignore", message="UA: no reference sample")
                rec, _ = run_one(spec, corpus, cache_dir=work / "runs", device=str(device), recompute=True)
        except Exception as err:  # record it and go on with the other runs
            runs.append({"model": m, "strategy": s, "status": "error", "error": f"{type(err).__name__}: {err}",
                         "traceback": traceback.format_exc(), "n_train": n})
            print(f"  table1 {m} {s}: ERROR {type(err).__name__}: {err}", flush=True)
            continue
        wall = now() - t
        entry = run_entry(rec, log[-1] if log else None, wall, peak_mib(device))
        runs.append(entry)
        print(f"  table1 {m} {s}: n_train {entry['n_train']}, {entry['epochs']} epoch(s), "
              f"{entry['steady_epoch_s']:.2f} s/epoch, {wall:.1f} s", flush=True)
    res["runs"] = runs
    res["run_errors"] = sum(r["status"] == "error" for r in runs)
    res["projection"] = project(runs, sizes, args.seeds, args.scale, probe)
    try:
        res["concurrency"] = concurrency(corpus, device, args, work, deadline, runs)
    except Exception as err:  # record it; the projection above stands
        res["concurrency"] = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        res["run_errors"] += 1
    speedup = res["concurrency"].get("speedup")
    if speedup:
        pr = res["projection"]
        pr["with_concurrent_runs"] = {
            "jobs": res["concurrency"]["jobs"], "speedup": speedup,
            "total_with_run_cache_s": round(pr["total_with_run_cache_s"] / speedup, 1),
            "table1_s": round(pr["artifacts"]["table1"]["seconds"] / speedup, 1),
            "note": "the serial projection divided by the measured concurrency speed-up on started workers "
                    "(CLTNet's; other models may gain more or less)"}
    res["seconds"] = round(now() - start, 2)
    return res


