"""`jb build book` before the result notebooks exist stops at once with one line (book/_ext/results_guard.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "book" / "_ext"))

import results_guard  # noqa: E402

RESULTS = ("data_distribution", "table1", "power", "table2", "fig5", "fig6")
NOTEBOOK = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# A result\n", "\n", "Numbers."]}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _write_nb(path: Path, mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(NOTEBOOK))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def _jb(book: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "jb"), "build", str(book), *args], cwd=book.parent, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def toc(tmp_path) -> Path:
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: Results\n    chapters:\n"
        + "".join(f"      - file: results/{n}\n" for n in RESULTS) + "      - file: reproduce\n")
    return tmp_path / "_toc.yml"


def test_every_result_page_missing_is_named_on_one_line(tmp_path, toc, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    found = results_guard.problems(tmp_path, toc)
    assert [k for k, _, _ in found] == ["missing"] * len(RESULTS)
    with pytest.raises(results_guard.ResultsMissing) as err:
        results_guard.check(tmp_path, toc)
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith("run `make notebooks` first (or `make demo`)")
    assert msg.startswith(f"{len(RESULTS)} result notebooks are missing") and f"{tmp_path.name}/results/table1.ipynb" in msg


def test_one_missing_page_reads_as_the_issue_asks(tmp_path, toc, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    for n in RESULTS[:-1]:
        _write_nb(tmp_path / "results" / f"{n}.ipynb")
    msg = results_guard.message(results_guard.problems(tmp_path, toc))
    assert msg == f"{tmp_path.name}/results/fig6.ipynb is missing: run `make notebooks` first (or `make demo`)"


def test_present_and_newer_results_pass_and_stale_ones_do_not(tmp_path, toc, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = time.time() - 3600
    for n in RESULTS:
        _write_nb(tmp_path / "notebooks" / f"{n}.ipynb", mtime=old)
        _write_nb(tmp_path / "results" / f"{n}.ipynb")
    results_guard.check(tmp_path, toc)  # nothing raised
    _write_nb(tmp_path / "notebooks" / "table2.ipynb")  # edited after the results were made
    msg = results_guard.message(results_guard.problems(tmp_path, toc))
    assert msg == ("results/table2.ipynb is older than notebooks/table2.ipynb: "
                   "run `make notebooks` first (or `make demo`)")
    assert results_guard.problems(tmp_path, toc, dirs=()) == []  # the check can be turned off


def test_the_repository_registers_the_guard():
    text = (REPO / "_config.yml").read_text()
    assert "local_extensions:\n    results_guard: _ext" in text
    assert (REPO / "book" / "_ext" / "results_guard.py").is_file()


def _book_copy(root: Path) -> Path:
    """The repository's book as a fresh clone has it: no results (sources and extension included)."""
    book = root / "book"
    shutil.copytree(REPO / "book", book, symlinks=False, ignore=shutil.ignore_patterns("_build", "results",
                                                                                        "__pycache__"))
    return book


def test_jb_build_on_a_fresh_clone_stops_with_one_line(tmp_path):
    book = _book_copy(tmp_path)
    r = _jb(book, "-W", "-n", "--keep-going")
    assert r.returncode != 0
    err = [line for line in r.stderr.splitlines() if line.strip()]
    import yaml

    pages = [f for f in dict.fromkeys(results_guard.toc_files(yaml.safe_load((REPO / "_toc.yml").read_text())))
             if f.startswith("results/")]  # every result page of the book's table of contents
    assert pages[:6] == [f"results/{n}" for n in RESULTS]
    assert err == [f"{len(pages)} result notebooks are missing ({', '.join(f'book/{f}.ipynb' for f in pages)}): "
                   "run `make notebooks` first (or `make demo`)"], r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (book / "_build" / "html" / "index.html").exists()  # stopped before writing any page


def test_jb_build_with_results_present_passes_the_guard(tmp_path):
    """A minimal book that loads the guard like the real one: builds with -W once its result exists."""
    book = tmp_path / "book"
    shutil.copytree(REPO / "book" / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    (book / "_config.yml").write_text(
        'title: "guard"\nonly_build_toc_files: true\nexecute:\n  execute_notebooks: "off"\n'
        "sphinx:\n  local_extensions:\n    results_guard: _ext\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: results/table1\n")
    (book / "intro.md").write_text("# Intro\n\nText.\n")
    _write_nb(book / "notebooks" / "table1.ipynb", mtime=time.time() - 3600)
    r = _jb(book, "-W", "-n")
    assert r.returncode != 0 and "book/results/table1.ipynb is missing" in r.stderr
    _write_nb(book / "results" / "table1.ipynb")
    r = _jb(book, "-W", "-n")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (book / "_build" / "html" / "results" / "table1.html").is_file()
    os.utime(book / "notebooks" / "table1.ipynb")  # the source changes after the result was made
    r = _jb(book, "-W", "-n")
    assert r.returncode != 0
    assert "book/results/table1.ipynb is older than book/notebooks/table1.ipynb" in r.stderr
