"""Where `make demo`'s time goes: each notebook's kernel start, imports and work, then the book build.

Runs what ``make notebooks book`` runs (``--mode batch``: every notebook through papermill on one
warm kernel, :mod:`pddslib.paper.batch`; ``--mode papermill``: one papermill call per notebook, as
``make notebooks`` did before; then ``jb build book -W -n --keep-going``) in a copy of ``book/`` under a temporary folder, with a fresh
run cache (``$PDDS_CACHE``), setup done. For each notebook papermill records every cell's duration:

- ``start_s``: the notebook's wall time minus the sum of its cells (papermill and kernel start-up,
  reading and writing the notebook);
- ``imports_s``: the cells made only of import statements (and the parameters cells);
- ``work_s``: every other cell (set-up and loading the corpus, the worker pool's start, training,
  tables and figures).

``book_s`` is the strict book build. ``training_s`` sums the ``seconds`` of every run trained
(each run's own training time, from its ``run.json`` in the fresh cache); ``floor_s`` is
``training_s / cpus + book_s``: what notebooks + book would take if nothing but training ran,
every core trained all the time and the book were built for free, i.e. the least time the demo's
numbers can be had in on this machine without making training itself faster. Each of ``--repeats`` rounds starts from a fresh cache and an
empty results folder; the median round is reported (by total). Run it on a quiet machine.

Usage::

    PYTHONPATH=. python benchmarks/bench_demo.py --json benchmarks/results/demo-time.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_host import cpu_name

from pddslib.paper.batch import toc_notebooks

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOKS = tuple(nb.stem for nb in toc_notebooks(REPO / "_toc.yml"))  # what make notebooks runs, in its order


def _is_import_cell(source: str) -> bool:
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return bool(lines) and all(ln.startswith(("import ", "from ")) for ln in lines)


def _cells(path: Path) -> tuple[float, float]:
    """(imports, other) seconds of an executed notebook, from papermill's per-cell durations."""
    data = json.loads(path.read_text())
    imports = other = 0.0
    for cell in data["cells"]:
        if cell["cell_type"] != "code":
            continue
        d = float(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
        tags = cell.get("metadata", {}).get("tags", [])
        if _is_import_cell("".join(cell["source"])) or "parameters" in tags or "injected-parameters" in tags:
            imports += d
        else:
            other += d
    return imports, other


def one_round(work: Path, params: list[str], mode: str) -> dict:
    """One fresh `make notebooks book` in ``work``: per-notebook split and the book build."""
    if work.exists():
        shutil.rmtree(work)
    book = work / "book"
    shutil.copytree(REPO / "book", book, ignore=shutil.ignore_patterns("_build", "results", "notebooks"), symlinks=False)
    (book / "results").mkdir()
    env = {**os.environ, "PDDS_CACHE": str(work / "cache")}
    rows = []
    start_all = time.perf_counter()
    if mode == "papermill":  # the former make notebooks: one papermill call (one kernel) per notebook
        walls = {}
        for nb in NOTEBOOKS:
            t = time.perf_counter()
            subprocess.run([str(BIN / "papermill"), "--log-level", "WARNING", str(REPO / "notebooks" / f"{nb}.ipynb"),
                            str(book / "results" / f"{nb}.ipynb"), "-k", "python3", *params], check=True, env=env,
                           cwd=work, stdout=subprocess.DEVNULL)
            walls[nb] = time.perf_counter() - t
    else:  # make notebooks now: one warm kernel for all (its log gives each notebook's seconds)
        r = subprocess.run([str(BIN / "python"), "-m", "pddslib.paper.batch", "--out", str(book / "results"),
                            *params, *[str(REPO / "notebooks" / f"{nb}.ipynb") for nb in NOTEBOOKS]],
                           check=True, env=env, cwd=work, capture_output=True, text=True)
        walls = {m.group(1): float(m.group(2)) for m in re.finditer(r"^   (\w+): ([\d.]+) s$", r.stdout, flags=re.M)}
    for nb in NOTEBOOKS:
        imports, other = _cells(book / "results" / f"{nb}.ipynb")
        rows.append({"notebook": nb, "wall_s": walls[nb], "start_s": walls[nb] - imports - other,
                     "imports_s": imports, "work_s": other})
    notebooks = time.perf_counter() - start_all
    t = time.perf_counter()
    subprocess.run([str(BIN / "jb"), "build", str(book), "-W", "-n", "--keep-going"], check=True, env=env,
                   cwd=work, stdout=subprocess.DEVNULL)
    book_s = time.perf_counter() - t
    runs = [json.loads(f.read_text()) for f in sorted((work / "cache" / "runs").glob("*/run.json"))]
    training = sum(float(r["seconds"]) for r in runs)
    return {"notebooks": rows, "notebooks_s": notebooks, "book_s": book_s, "total_s": notebooks + book_s,
            "runs": len(runs), "training_s": training, "floor_s": training / (os.cpu_count() or 1) + book_s}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="fresh rounds, the median kept (default %(default)s)")
    ap.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="a papermill parameter for every notebook (as make notebooks PARAMS)")
    ap.add_argument("--mode", choices=("batch", "papermill"), default="batch",
                    help="batch: make notebooks (one warm kernel, pddslib.paper.batch); papermill: one papermill call "
                         "per notebook, as make notebooks did before (default %(default)s)")
    ap.add_argument("--label", default="", help="what this measurement is (e.g. 'before', 'after')")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    params = [x for name, value in args.param for x in ("-p", name, value)]
    load_at_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    rounds = []
    for k in range(args.repeats):
        r = one_round(tmp / "work", params, args.mode)
        rounds.append(r)
        parts = ", ".join(f"{n['notebook']} {n['wall_s']:.1f}" for n in r["notebooks"])
        print(f"round {k + 1}: total {r['total_s']:.1f} s (notebooks {r['notebooks_s']:.1f}: {parts}; "
              f"book {r['book_s']:.1f}; {r['runs']} runs trained {r['training_s']:.1f} s, floor "
              f"{r['floor_s']:.1f} s)", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    median = sorted(rounds, key=lambda r: r["total_s"])[len(rounds) // 2]
    split = {k: sum(n[k] for n in median["notebooks"]) for k in ("start_s", "imports_s", "work_s")}
    out = {"what": "make notebooks book on the demo corpus, fresh run cache, setup done; median round by total",
           "label": args.label, "mode": args.mode, "params": params,
           "machine": {"cpu": cpu_name(), "cpus": os.cpu_count(), "load_at_start": load_at_start},
           "date": datetime.now(UTC).isoformat(timespec="seconds"),
           "totals_s": [r["total_s"] for r in rounds], "median": median,
           "split_s": {**split, "book_s": median["book_s"], "total_s": median["total_s"]},
           "training_s": median["training_s"], "floor_s": median["floor_s"]}
    print(json.dumps({**out["split_s"], "training_s": out["training_s"], "floor_s": out["floor_s"]}, indent=1))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_json = path.with_suffix(".tmp")
        tmp_json.write_text(json.dumps(out, indent=1) + "\n")
        tmp_json.replace(path)
    return out


if __name__ == "__main__":
    main()
