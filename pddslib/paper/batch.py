"""Execute the artifact notebooks with papermill in one warm kernel (what ``make notebooks`` runs).

One papermill call per notebook starts a kernel, imports torch, matplotlib and pddslib, and starts
a pool of training workers, every time. Here the notebooks run one after the other, each through
``papermill.execute_notebook`` exactly as before (parameters injected, outputs written, an error
stops the batch), but on one kernel started once: between two notebooks its namespace is cleared
(``%reset -f``: no variable of one notebook reaches the next) and its figures closed, while the
imported modules and the worker pool stay warm. A run's numbers do not depend on it: every run is
seeded on its own (:mod:`pddslib.runs.one`) and looked up in the content-keyed run cache.

The list of notebooks is the book's: ``--toc _toc.yml`` runs every executed page of the table of
contents (its ``results/<name>`` files) from ``notebooks/<name>.ipynb``, in the toc's order, so
the Makefile, the tests and the benchmarks never write it again.

Usage::

    python -m pddslib.paper.batch --out book/results --toc _toc.yml -p quick True
    python -m pddslib.paper.batch --out book/results notebooks/table1.ipynb notebooks/table2.ipynb
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# %reset -f also drops the module dunders a fresh kernel has (``__spec__``: multiprocessing's spawn reads
# it to start the training workers); they are kept aside in builtins and put back.
_RESET = """\
import builtins as _b
_b.__pdds_keep__ = {k: globals()[k] for k in ("__doc__", "__loader__", "__package__", "__spec__") if k in globals()}
get_ipython().run_line_magic("reset", "-f")
import builtins as _b
globals().update(_b.__pdds_keep__)
del _b.__pdds_keep__, _b
import matplotlib.pyplot as _plt
_plt.close("all")
del _plt
"""


#: The folder of the book's executed pages (``_toc.yml`` names them ``results/<name>``).
RESULTS = "results"


def toc_notebooks(toc: str | Path, folder: str | Path | None = None) -> list[Path]:
    """The source notebooks of the book's executed pages, in the order of its table of contents.

    Parameters
    ----------
    toc : path
        A Jupyter Book ``_toc.yml``; its ``file: results/<name>`` entries are the executed pages.
    folder : path, optional
        Where the sources are (default: ``notebooks/`` beside the toc).

    Returns
    -------
    list of Path
        ``folder/<name>.ipynb`` for every ``results/<name>`` entry.

    Raises
    ------
    ValueError
        When the toc names no executed page, or names one whose notebook is missing (the toc,
        the entry and the path expected).
    """
    import yaml

    toc = Path(toc)
    folder = toc.resolve().parent / "notebooks" if folder is None else Path(folder)

    def files(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [str(node["file"])] if "file" in node else []
            return own + [f for key, value in node.items() if key != "file" for f in files(value)]
        if isinstance(node, list):
            return [f for item in node for f in files(item)]
        return []

    entries = [f for f in files(yaml.safe_load(toc.read_text())) if f.startswith(f"{RESULTS}/")]
    if not entries:
        raise ValueError(f"{toc}: no executed page (an entry `file: {RESULTS}/<name>`) in the table of contents")
    out = []
    for entry in entries:
        nb = folder / f"{entry[len(RESULTS) + 1:]}.ipynb"
        if not nb.is_file():
            raise ValueError(f"{toc}: entry `file: {entry}` has no source notebook (expected {nb})")
        out.append(nb)
    return out


def _value(text: str) -> Any:
    """A ``-p NAME VALUE`` value typed as papermill's command line types it (bool, None, int, float, str)."""
    from papermill.cli import _resolve_type  # papermill's own rule, so both commands read PARAMS alike

    return _resolve_type(text)


def _reset(km: Any) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(_RESET, timeout=60, store_history=False)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"resetting the kernel between notebooks failed: {reply['content']}")
    finally:
        kc.stop_channels()


def run_notebooks(notebooks: Sequence[str | Path], out: str | Path, parameters: dict[str, Any] | None = None, *,
                  kernel_name: str = "python3", log=print) -> list[Path]:
    """Execute ``notebooks`` in order into ``out`` (same file names) on one kernel.

    Parameters
    ----------
    notebooks : sequence of paths
        Source notebooks (``.ipynb``).
    out : path
        Folder of the executed copies.
    parameters : dict, optional
        Papermill parameters given to every notebook.
    kernel_name : str
        The Jupyter kernel.
    log : callable
        Receives one line per notebook (its name, then its seconds).

    Returns
    -------
    list of Path
        The executed notebooks.
    """
    import papermill
    from jupyter_client.manager import KernelManager

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel()
    written = []
    try:
        for k, nb in enumerate(map(Path, notebooks)):
            if k:
                _reset(km)
            log(f"== {nb.stem}")
            start = time.perf_counter()
            target = out / nb.name
            papermill.execute_notebook(str(nb), str(target), parameters=dict(parameters or {}),
                                       kernel_name=kernel_name, stdout_file=sys.stdout, km=km)
            log(f"   {nb.stem}: {time.perf_counter() - start:.1f} s")
            written.append(target)
    finally:
        km.shutdown_kernel(now=False)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pddslib.paper.batch", description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", help="source notebooks, run in this order")
    ap.add_argument("--toc", help="run the book's executed pages instead: every `results/<name>` entry of this "
                                  "_toc.yml, from notebooks/<name>.ipynb beside it, in the toc's order")
    ap.add_argument("--out", required=True, help="folder of the executed copies")
    ap.add_argument("-p", "--parameters", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="a parameter for every notebook, typed as papermill -p types it")
    ap.add_argument("-r", "--parameters_raw", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="a parameter kept as a string, as papermill -r")
    ap.add_argument("-k", "--kernel", default="python3", help="Jupyter kernel (default %(default)s)")
    args = ap.parse_args(argv)
    params = {name: _value(v) for name, v in args.parameters} | {name: v for name, v in args.parameters_raw}
    if bool(args.notebooks) == bool(args.toc):
        ap.error("give the notebooks to run or --toc, one of the two")
    if args.toc:
        if not Path(args.toc).is_file():
            ap.error(f"--toc: no such file: {args.toc}")
        try:
            notebooks = toc_notebooks(args.toc)
        except ValueError as e:
            ap.error(str(e))
    else:
        notebooks = args.notebooks
        missing = [nb for nb in notebooks if not Path(nb).is_file()]
        if missing:
            ap.error(f"no such notebook: {', '.join(missing)}")
    run_notebooks(notebooks, args.out, params, kernel_name=args.kernel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
