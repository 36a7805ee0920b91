"""How the demo corpus's defaults were chosen: CLTNet without and with PDDS under candidate settings.

The demo must show learning and changes that can be read through the spread over seeds, within
``make demo``'s three minutes on a 2-core CPU. This script trains CLTNet without and with PDDS,
``--seeds`` seeds each, under each candidate (corpus scale, epochs, model widths), and reports WA
of both (mean and std over seeds), the change PDDS brings seed by seed (mean and std), and the
mean seconds per run. The chosen defaults are in ``pddslib.config`` (``DEMO_EPOCHS``,
``DEMO_MODEL_OVERRIDES``) and ``pddslib.corpora.demo.DEFAULT_SCALE``; the Decisions page says why.

Usage::

    PYTHONPATH=. python benchmarks/tune_demo.py --json benchmarks/results/demo-tuning.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pddslib.config import DEMO_MODEL_OVERRIDES, RunSpec
from pddslib.features import demo_stores
from pddslib.runs.corpus import load_corpus
from pddslib.runs.sweep import run_specs

#: (name, scale, epochs, CLTNet overrides): the former default, and the candidates around the new one.
CANDIDATES: list[tuple[str, float, int, dict[str, Any]]] = [
    ("former default: scale 0.05, 4 epochs, full width", 0.05, 4, {}),
    ("scale 0.1, 4 epochs, narrow", 0.1, 4, DEMO_MODEL_OVERRIDES["cltnet"]),
    ("scale 0.1, 5 epochs, narrow (the default)", 0.1, 5, DEMO_MODEL_OVERRIDES["cltnet"]),
    ("scale 0.1, 10 epochs, narrow", 0.1, 10, DEMO_MODEL_OVERRIDES["cltnet"]),
]


def evaluate(scale: float, epochs: int, overrides: dict[str, Any], seeds: int, work: Path,
             jobs: int | str) -> dict[str, Any]:
    """CLTNet none and pdds, ``seeds`` seeds each, on the demo corpus at ``scale``."""
    corpus = load_corpus(str(demo_stores.write_demo_store(work / f"store-{scale:g}", scale=scale, overwrite=True)))
    specs = [RunSpec.build("cltnet", s, seed, max_epochs=epochs, model_overrides=overrides)
             for s in ("none", "pdds") for seed in range(seeds)]
    runs = run_specs(specs, corpus, cache_dir=work / "runs", device="cpu", jobs=jobs, progress=False, log=None,
                     save_model=False).runs
    wa = {s: 100 * runs[runs["strategy"] == s].sort_values("seed")["wa"].to_numpy() for s in ("none", "pdds")}
    delta = wa["pdds"] - wa["none"]
    return {"scale": scale, "epochs": epochs, "overrides": overrides, "seeds": seeds,
            "n_test": int(runs["n_test"].iloc[0]),
            "wa_none": [round(float(wa["none"].mean()), 2), round(float(wa["none"].std(ddof=1)), 2)],
            "wa_pdds": [round(float(wa["pdds"].mean()), 2), round(float(wa["pdds"].std(ddof=1)), 2)],
            "delta_wa": [round(float(delta.mean()), 2), round(float(delta.std(ddof=1)), 2)],
            "seconds_per_run": round(float(runs["seconds"].mean()), 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--jobs", default="auto", help="concurrent runs (pddslib.runs.workers)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    jobs = args.jobs if args.jobs == "auto" else int(args.jobs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, scale, epochs, overrides in CANDIDATES:
            row = {"candidate": name, **evaluate(scale, epochs, overrides, args.seeds, Path(tmp), jobs)}
            rows.append(row)
            print(f"{name:50s} n_test {row['n_test']:3d}  WA none {row['wa_none'][0]:5.1f} ± {row['wa_none'][1]:4.1f}"
                  f"  pdds {row['wa_pdds'][0]:5.1f} ± {row['wa_pdds'][1]:4.1f}  change {row['delta_wa'][0]:+5.1f} ± "
                  f"{row['delta_wa'][1]:4.1f}  {row['seconds_per_run']:.1f} s/run", flush=True)
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        out = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "model": "cltnet",
               "note": "WA in percent, [mean, std over seeds]; change = pdds - none, seed by seed; seconds per "
                       "run depend on the machine's load (one thread per run, runs two at a time)",
               "candidates": rows}
        tmp_path = path.with_name(path.name + ".tmp")
        tmp_path.write_text(json.dumps(out, indent=1) + "\n")
        os.replace(tmp_path, path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
