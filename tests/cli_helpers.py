"""Running the ``pdds`` command line inside a test (shared by the CLI tests)."""

from __future__ import annotations


def run_cli(argv, capsys) -> tuple[int, str, str]:
    """``pdds ARGV`` in this process: (exit code, stdout, stderr); argparse's exits are caught."""
    from pddslib.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def run_name(out, legacy: str) -> str:
    """The name under ``OUT/models`` and ``OUT/predictions`` of the run of ``OUT/runs.csv`` that was
    called ``legacy`` before names held the run's key (``cltnet-pdds-seed0`` -> ``cltnet-pdds-seed0-1a2b3c4d``)."""
    from pathlib import Path

    import pandas as pd

    from pddslib.runs.saved_models import run_folder_name

    records = pd.read_csv(Path(out) / "runs.csv").to_dict("records")
    names = {run_folder_name(r, legacy=True): run_folder_name(r) for r in records}
    assert legacy in names, f"{out}: no run {legacy} in runs.csv ({sorted(names)})"
    return names[legacy]
