"""What the statistics add to ``make demo``: each artifact's tests, the power page, timed apart.

Issue 32 asks for the time the statistics add to the demo (median of three, quiet machine). The
statistics never train: they read the runs the notebooks already made. So the demo's runs are
loaded once (from the run cache; trained first if missing, not timed), and then each piece of
statistics the notebooks call is timed ``--repeats`` times (median kept):

- ``table1``, ``table2``, ``fig5``, ``fig6``, ``readings``, ``crema_d``: the family's two-source
  tests (with the per-model bootstrap column, as the notebooks run them);
- ``calibration (first)``: the power page's simulation into an empty cache (a fresh machine's
  ``make demo``), ``calibration (cached)``: reading it back (every later ``make demo``);
- ``ideal sizes``, ``power table``, ``power curves``: the rest of the power page.

The total of the first column is the time the statistics add to a first ``make demo``; with the
calibration cached, to every later one. (The page's own notebook start-up, a second or so on the
warm kernel, is not included.)

Usage::

    PYTHONPATH=. python benchmarks/bench_statistics.py --json benchmarks/results/statistics-cpu.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench_host import cpu_name, median_time


def _pieces(n_reps: int) -> dict[str, Callable[[], object]]:
    import pandas as pd

    from pddslib.paper import experiments as ex
    from pddslib.paper import readings as rd
    from pddslib.paper.parameters import setup
    from pddslib.paper.power import claims_power, power_curves
    from pddslib.paper.simulate import cached_calibrate, ideal_sizes
    from pddslib.reference import paper_table1

    run = setup(corpus="demo")
    classes = run.corpus.store.classes
    t1 = ex.table1(run.corpus, run.settings, log=None)
    t2 = ex.table2(run.corpus, run.settings, log=None)
    f6 = ex.fig6(run.corpus, run.settings, log=None)
    rr = rd.readings(run.corpus, run.settings, log=None)
    crema = setup(corpus="crema-d")                  # the CREMA-D demo, as the crema_d notebook runs it
    cdr = ex.table2(crema.corpus, crema.settings, model="cltnet_audio", log=None)
    tests = ex.table1_significance(t1, classes)
    paper = paper_table1()
    claims = pd.concat([pd.DataFrame({"model": paper["model"], "metric": m,
                                      "claim": paper[f"{m}_with"] - paper[f"{m}_without"]}) for m in ("wa", "ua")])
    cp = claims_power(tests, claims)
    empty = tempfile.mkdtemp(prefix="pdds-bench-sim-")
    counter = iter(range(10_000))
    return {
        "table1": lambda: ex.table1_significance(t1, classes),
        "table2": lambda: ex.table2_significance(t2, classes),
        "fig5": lambda: ex.fig5_significance(t1, classes),
        "fig6": lambda: ex.fig6_significance(f6, classes),
        "readings": lambda: rd.readings_tests(rr, classes),
        "crema_d": lambda: ex.table2_significance(cdr, crema.corpus.store.classes, model="cltnet_audio",
                                                  family="crema_d"),
        "calibration (first)": lambda: cached_calibrate(n_reps=n_reps, cache_dir=str(Path(empty) / str(next(counter))),
                                                        log=None),
        "calibration (cached)": lambda: cached_calibrate(n_reps=n_reps, cache_dir=str(Path(empty) / "kept"), log=None),
        "ideal sizes": lambda: ideal_sizes(),
        "power table": lambda: claims_power(tests, claims),
        "power curves": lambda: power_curves(cp, seeds=(2, 3, 5, 10, 20, 50)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-reps", type=int, default=1000, help="the power page's replicates (its default)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    pieces = _pieces(args.n_reps)
    pieces["calibration (cached)"]()  # fill the kept cache once (not timed)
    rows = {}
    for name, fn in pieces.items():
        median, times = median_time(fn, args.repeats)
        rows[name] = {"median_s": round(median, 3), "runs_s": [round(t, 3) for t in times]}
        print(f"{name:<22} {median:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})", flush=True)
    first = sum(r["median_s"] for k, r in rows.items() if k != "calibration (cached)")
    later = sum(r["median_s"] for k, r in rows.items() if k != "calibration (first)")
    print(f"{'total, first demo':<22} {first:7.2f} s\n{'total, later demos':<22} {later:7.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "what": "time the statistics add to make demo (issue 32): median of repeats per piece",
            "cpu": cpu_name(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "repeats": args.repeats, "n_reps": args.n_reps, "pieces": rows,
            "total_first_s": round(first, 2), "total_later_s": round(later, 2)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
