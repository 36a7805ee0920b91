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
