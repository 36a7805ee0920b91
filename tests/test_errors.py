"""Every error class of pddslib is a ``PddsError`` and keeps its built-in base; ``pdds`` prints an error
as one line, with the traceback before it under ``--debug`` or ``PDDS_DEBUG=1``; the flat import paths
of unreleased versions are gone."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

import pddslib
from pddslib.util import errors as errors_module
from pddslib.util.errors import PddsError

REPO = Path(__file__).resolve().parents[1]

#: The error classes there were before PddsError, and the built-in base each must keep.
OLD_BASES = {
    "pddslib.features.audio.AudioFileError": ValueError,
    "pddslib.features.store.StoreError": ValueError,
    "pddslib.cli._common.UsageError": Exception,
    "pddslib.cli._common.MissingExtra": Exception,
    "pddslib.corpora.errors.CorpusFormatError": ValueError,
    "pddslib.corpora.votes.VoteTableError": ValueError,
    "pddslib.runs.cluster.ClusterError": RuntimeError,
    "pddslib.runs.cache.RunCacheError": ValueError,
    "pddslib.runs.saved_models.SavedModelError": ValueError,
}


def _package_modules():
    """Every module of pddslib, imported; one that needs an optional package that is not installed
    (torch, say) is skipped, any other import failure fails the test."""
    for info in pkgutil.walk_packages(pddslib.__path__, "pddslib."):
        if info.name == "pddslib.__main__":  # runs the command line when imported
            continue
        try:
            yield importlib.import_module(info.name)
        except ModuleNotFoundError as err:
            root = (err.name or "").split(".")[0]
            if not root or root == "pddslib" or importlib.util.find_spec(root) is not None:
                raise
            continue


def _error_classes() -> dict[str, type]:
    """``module.Class`` -> class, for every exception class (warnings aside) defined in pddslib."""
    out = {}
    for module in _package_modules():
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (cls.__module__ == module.__name__ and issubclass(cls, BaseException)
                    and not issubclass(cls, Warning)):
                out[f"{module.__name__}.{name}"] = cls
    return out


@pytest.fixture(scope="module")
def error_classes() -> dict[str, type]:
    return _error_classes()


def test_the_walk_finds_every_known_error_class(error_classes):
    missing = sorted(set(OLD_BASES) - set(error_classes))
    assert not missing, f"the walk over pddslib's modules missed {missing}"
    assert "pddslib.util.errors.PddsError" in error_classes


def test_every_error_class_is_a_pdds_error(error_classes):
    stray = sorted(name for name, cls in error_classes.items() if not issubclass(cls, PddsError))
    assert not stray, f"error classes that do not subclass pddslib.PddsError: {stray}"


@pytest.mark.parametrize("name", sorted(OLD_BASES))
def test_each_error_keeps_its_old_base(name, error_classes):
    cls = error_classes[name]
    instance = cls.__new__(cls)  # without __init__: CorpusFormatError takes (path, line, message)
    assert isinstance(instance, OLD_BASES[name]) and isinstance(instance, PddsError)


def test_the_errors_module_lists_every_error_class(error_classes):
    doc = errors_module.__doc__
    unlisted = sorted(name for name in error_classes
                      if name != "pddslib.util.errors.PddsError" and f"``{name.rsplit('.', 1)[1]}``" not in doc)
    assert not unlisted, f"error classes missing from pddslib.util.errors' docstring: {unlisted}"


def test_callers_that_catch_the_old_base_still_catch_it():
    from pddslib.corpora.errors import CorpusFormatError
    from pddslib.runs.cluster import ClusterError

    with pytest.raises(ValueError, match=r"^votes\.txt:3: bad row$"):
        raise CorpusFormatError("votes.txt", 3, "bad row")
    with pytest.raises(PddsError):
        raise CorpusFormatError("votes.txt", None, "bad row")
    with pytest.raises(RuntimeError):
        raise ClusterError("no scheduler")


def test_pdds_error_is_exported_from_the_root_and_imports_nothing_of_pddslib():
    assert pddslib.PddsError is PddsError and "PddsError" in pddslib.__all__
    tree = ast.parse(Path(errors_module.__file__).read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in imports), \
        "pddslib/util/errors.py imports something (every wing imports it: it must import nothing of pddslib)"


@pytest.mark.parametrize("old", ["pddslib.runner", "pddslib.torch", "pddslib.notebook", "pddslib.training"])
def test_the_flat_paths_are_gone(old):
    sys.modules.pop(old, None)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)
    assert not any(type(f).__module__.startswith("pddslib") for f in sys.meta_path)


# == the command line: one line, the traceback on request =====================================================

def _no_store(tmp_path: Path) -> tuple[list[str], str]:
    missing = tmp_path / "nothing-here"
    return ["info", missing], f"pdds info: error: {missing / 'store.json'}: not found; {missing} is not a feature store"


def test_an_error_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PDDS_DEBUG", raising=False)
    argv, line = _no_store(tmp_path)
    code, out, err = run_cli(argv, capsys)
    assert (code, out, err.splitlines()) == (1, "", [line])


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_prints_the_traceback_before_the_line(how, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PDDS_DEBUG", raising=False)
    argv, line = _no_store(tmp_path)
    if how == "flag":
        argv = ["--debug", *argv]
    else:
        monkeypatch.setenv("PDDS_DEBUG", "1")
    code, out, err = run_cli(argv, capsys)
    assert code == 1 and out == ""
    assert err.startswith("Traceback (most recent call last):") and "StoreError" in err
    assert err.splitlines()[-1] == line and err.count(line) == 1


def test_pdds_debug_0_is_off(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PDDS_DEBUG", "0")
    argv, line = _no_store(tmp_path)
    assert run_cli(argv, capsys) == (1, "", line + "\n")


def test_debug_keeps_the_usage_exit_code(capsys, monkeypatch):
    monkeypatch.delenv("PDDS_DEBUG", raising=False)
    code, out, err = run_cli(["stats"], capsys)  # no source of votes: a UsageError
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("pdds stats: error: give exactly one source")
    code, out, debug = run_cli(["--debug", "stats"], capsys)
    assert code == 2 and "Traceback" in debug and "UsageError" in debug
    assert debug.splitlines()[-1] == err.strip()


@pytest.mark.parametrize("debug", [False, True])
def test_a_pdds_error_that_is_no_value_error_is_one_line_too(debug, capsys, monkeypatch):
    from pddslib.cli import stores
    from pddslib.runs.cluster import ClusterError

    def fail(args):
        raise ClusterError("cannot reach the Dask scheduler at tcp://nowhere:1")

    monkeypatch.delenv("PDDS_DEBUG", raising=False)
    monkeypatch.setattr(stores, "cmd_info", fail)
    code, out, err = run_cli(["--debug"] * debug + ["info", "x"], capsys)
    line = "pdds info: error: cannot reach the Dask scheduler at tcp://nowhere:1"
    assert code == 1 and err.splitlines()[-1] == line
    if debug:
        assert err.startswith("Traceback (most recent call last):") and "ClusterError" in err
    else:
        assert err == line + "\n"


def test_debug_keeps_the_interrupted_exit_code(capsys, monkeypatch):
    from pddslib.cli import stores

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.delenv("PDDS_DEBUG", raising=False)
    monkeypatch.setattr(stores, "cmd_info", interrupted)
    code, _, err = run_cli(["info", "x"], capsys)
    assert code == 130 and len(err.splitlines()) == 1 and "interrupted" in err
    code, _, debug = run_cli(["--debug", "info", "x"], capsys)
    assert code == 130 and "Traceback" in debug and debug.splitlines()[-1] == err.strip()


def test_the_installed_command_prints_the_traceback_with_pdds_debug(tmp_path):
    argv, line = _no_store(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PDDS_DEBUG"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    plain = subprocess.run([sys.executable, "-m", "pddslib", *map(str, argv)], capture_output=True, text=True,
                           env=env, timeout=120)
    debug = subprocess.run([sys.executable, "-m", "pddslib", *map(str, argv)], capture_output=True, text=True,
                           env={**env, "PDDS_DEBUG": "1"}, timeout=120)
    assert (plain.returncode, plain.stdout, plain.stderr) == (1, "", line + "\n")
    assert debug.returncode == 1 and "Traceback (most recent call last):" in debug.stderr
    assert debug.stderr.splitlines()[-1] == line
