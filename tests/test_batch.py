"""Notebooks run in one warm kernel (``python -m pddslib.paper.batch``, what ``make notebooks`` runs):
nothing of one notebook reaches the next, training workers still start, an error stops the batch,
and the outputs are those of one papermill call per notebook (the slow test in test_book.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pddslib.paper.batch import main, run_notebooks, toc_notebooks


def _notebook(path: Path, *cells: str, parameters: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    if parameters:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _printed(path: Path) -> list[str]:
    """Every printed line of an executed notebook, in order."""
    nb = json.loads(path.read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    return text.splitlines()


def test_one_kernel_no_variable_crosses_and_workers_start(tmp_path):
    first = _notebook(tmp_path / "first.ipynb", "import os\nleak = 1\nprint('pid', os.getpid())")
    second = _notebook(tmp_path / "second.ipynb",
                       "import os\nprint('pid', os.getpid())\nprint('leak' in globals(), 'os' in dir())",
                       # a spawned process needs __main__.__spec__, which %reset -f removes unless kept
                       "import multiprocessing as mp\nwith mp.get_context('spawn').Pool(1) as p:\n"
                       "    print('square', p.apply(pow, (7, 2)))",
                       "print('n', n)", parameters="n = 0")
    lines = []
    written = run_notebooks([first, second], tmp_path / "out", {"n": 3}, log=lines.append)
    assert [p.name for p in written] == ["first.ipynb", "second.ipynb"]
    a, b = _printed(written[0]), _printed(written[1])
    assert a[0].split()[1] == b[0].split()[1], "the two notebooks ran in two kernels"
    assert b[1] == "False True"  # `leak` is gone; `os` was imported again by the cell itself
    assert b[2] == "square 49" and b[3] == "n 3"
    assert lines[0] == "== first" and lines[2] == "== second"


def test_an_error_stops_the_batch_and_names_the_notebook(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('no such corpus')")
    after = _notebook(tmp_path / "after.ipynb", "print(1)")
    r = subprocess.run([sys.executable, "-m", "pddslib.paper.batch", "--out", str(tmp_path / "out"), str(bad),
                        str(after)], capture_output=True, text=True, env={**os.environ})
    assert r.returncode != 0
    assert "ValueError: no such corpus" in r.stderr + r.stdout and "== bad" in r.stdout
    assert not (tmp_path / "out" / "after.ipynb").exists()


def test_parameters_are_typed_as_papermill_types_them(tmp_path):
    nb = _notebook(tmp_path / "p.ipynb", "print(repr(a), repr(b), repr(c), repr(d), repr(e))",
                   parameters="a = b = c = d = e = 0")
    assert main([str(nb), "--out", str(tmp_path / "out"), "-p", "a", "True", "-p", "b", "None", "-p", "c", "2",
                 "-p", "d", "0.5", "-r", "e", "2"]) == 0
    assert _printed(tmp_path / "out" / "p.ipynb")[0] == "True None 2 0.5 '2'"


def test_a_missing_notebook_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope.ipynb"), "--out", str(tmp_path / "out")])
    assert "no such notebook: " in capsys.readouterr().err


REPO = Path(__file__).resolve().parents[1]


def test_the_books_toc_lists_every_notebook_once_in_its_order():
    listed = [nb.name for nb in toc_notebooks(REPO / "_toc.yml")]
    assert sorted(listed) == sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb")), \
        "every notebook in notebooks/ is a page of the book (_toc.yml: file: results/<name>), and only those"
    assert len(set(listed)) == len(listed)
    assert listed[0] == "data_distribution.ipynb" and listed[1] == "table1.ipynb"  # the toc's order


def test_toc_errors_name_the_toc_and_the_entry(tmp_path):
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "here.ipynb", "print(1)")
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: intro\nchapters:\n  - file: results/here\n  - file: results/gone\n"
                   "    sections:\n      - file: method\n")
    with pytest.raises(ValueError, match=r"_toc.yml: entry `file: results/gone` has no source notebook "
                                         r"\(expected .*notebooks/gone.ipynb\)"):
        toc_notebooks(toc)
    toc.write_text("format: jb-book\nroot: intro\nchapters:\n  - file: method\n")
    with pytest.raises(ValueError, match="no executed page"):
        toc_notebooks(toc)
    toc.write_text("format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: results/here\n"
                   "        sections:\n          - file: results/here\n")
    assert [nb.name for nb in toc_notebooks(toc)] == ["here.ipynb", "here.ipynb"]  # nested entries are found


def test_cli_runs_the_toc_and_refuses_both_or_neither(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "a.ipynb", "print('ran a')")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: results/a\n")
    assert main(["--out", str(tmp_path / "out"), "--toc", str(tmp_path / "_toc.yml")]) == 0
    assert _printed(tmp_path / "out" / "a.ipynb") == ["ran a"]
    for argv in ([], [str(tmp_path / "notebooks" / "a.ipynb"), "--toc", str(tmp_path / "_toc.yml")]):
        with pytest.raises(SystemExit):
            main(["--out", str(tmp_path / "out2"), *argv])
        assert "one of the two" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "out2"), "--toc", str(tmp_path / "nope.yml")])
    assert "--toc: no such file" in capsys.readouterr().err
