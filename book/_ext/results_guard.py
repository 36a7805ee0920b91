"""Sphinx extension: stop ``jb build book`` at once when a result page is missing or stale.

The result pages (``book/results/*.ipynb``) are executed copies of ``notebooks/*.ipynb`` written by
``make notebooks`` (papermill); the book renders them as they are and never executes them. On a
fresh clone they do not exist yet, and a build would still succeed, with dozens of warnings, blank
numbers in the prose ("WA % -> %") and result pages missing. This extension checks, before Sphinx
reads anything, that every result page listed in the table of contents exists and is not older
than its source notebook; otherwise the build stops with one line naming the file and the command
to run, and a non-zero exit status::

    book/results/table1.ipynb is missing: run `make notebooks` first (or `make demo`)

Registered in ``_config.yml`` under ``sphinx: local_extensions`` (path relative to ``book/``).
Which toc folders hold result pages is the config value ``results_guard_dirs`` (default
``["results"]``; an empty list turns the check off), the folder of their sources
``results_guard_sources`` (default ``"notebooks"``, relative to the book's source folder; a result
whose source is absent there is only checked for existence).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

from sphinx.errors import SphinxError

HINT = "run `make notebooks` first (or `make demo`)"
__version__ = "1.0"


class ResultsMissing(SphinxError):
    """A result notebook of the table of contents is missing or older than its source."""

    category = "Results missing"


def toc_files(toc: Any) -> Iterator[str]:
    """Every ``file:`` entry of a parsed ``_toc.yml`` (root included), in order."""
    if isinstance(toc, dict):
        for key, value in toc.items():
            if key in ("file", "root") and isinstance(value, str):
                yield value
            else:
                yield from toc_files(value)
    elif isinstance(toc, list):
        for item in toc:
            yield from toc_files(item)


def _shown(path: Path) -> str:
    """The path relative to the working folder when it lies below it (symlinks resolved), else absolute."""
    real = Path(os.path.realpath(path))
    try:
        return real.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return real.as_posix()


def problems(srcdir: str | Path, toc_path: str | Path, dirs: Sequence[str] = ("results",),
             sources: str = "notebooks") -> list[tuple[str, Path, Path | None]]:
    """``(kind, result, source)`` for each result page that is ``missing`` or ``stale``.

    A toc entry is a result page when its first folder is one of ``dirs``; its file is the entry
    itself when it has a suffix, else ``<entry>.ipynb``; its source is ``<sources>/<name>.ipynb``.
    """
    import yaml

    srcdir = Path(srcdir)
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf8")) or {}
    found = []
    for entry in dict.fromkeys(toc_files(toc)):
        parts = Path(entry).parts
        if len(parts) < 2 or parts[0] not in dirs:
            continue
        result = srcdir / (entry if Path(entry).suffix else entry + ".ipynb")
        source = srcdir / sources / (Path(result.name).stem + ".ipynb")
        if not result.is_file():
            found.append(("missing", result, source if source.is_file() else None))
        elif source.is_file() and result.stat().st_mtime < source.stat().st_mtime:
            found.append(("stale", result, source))
    return found


def message(found: Sequence[tuple[str, Path, Path | None]]) -> str:
    """One line: what is missing or stale, and what to run."""
    def one(kind: str, result: Path, source: Path | None) -> str:
        if kind == "missing":
            return f"{_shown(result)} is missing"
        return f"{_shown(result)} is older than {_shown(source)}"  # type: ignore[arg-type]

    if len(found) == 1:
        return f"{one(*found[0])}: {HINT}"
    kinds = {k for k, _, _ in found}
    what = "missing" if kinds == {"missing"} else "older than their sources" if kinds == {"stale"} \
        else "missing or older than their sources"
    listed = ", ".join(_shown(r) + ("" if len(kinds) == 1 else f" ({k})") for k, r, _ in found)
    return f"{len(found)} result notebooks are {what} ({listed}): {HINT}"


def check(srcdir: str | Path, toc_path: str | Path, dirs: Sequence[str] = ("results",),
          sources: str = "notebooks") -> None:
    """Raise :class:`ResultsMissing` (one-line message) unless every result page is present and fresh."""
    found = problems(srcdir, toc_path, dirs, sources)
    if found:
        raise ResultsMissing(message(found))


def _on_config_inited(app: Any, config: Any) -> None:
    dirs = list(config.results_guard_dirs or [])
    if not dirs:
        return
    srcdir = Path(app.srcdir)
    toc = getattr(config, "external_toc_path", None) or "_toc.yml"
    toc_path = Path(toc) if Path(toc).is_absolute() else srcdir / toc
    if not toc_path.is_file():
        return  # no table of contents: nothing to check against
    try:
        check(srcdir, toc_path, dirs, config.results_guard_sources)
    except ResultsMissing as err:
        # One line and a non-zero exit, nothing else: a SphinxError would reach the reader wrapped
        # in two tracebacks and Jupyter Book's error box. SystemExit passes through Sphinx's event
        # handling, jb and sphinx-build alike (they catch Exception).
        print(err, file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("results_guard_dirs", ["results"], "env")
    app.add_config_value("results_guard_sources", "notebooks", "env")
    app.connect("config-inited", _on_config_inited, priority=100)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
