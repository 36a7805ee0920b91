"""The ``pdds`` command line (also ``python -m pddslib``).

One module per group of sub-commands; each adds its parser with ``add_<command>(sub)`` and runs
with ``cmd_<command>(args)``. Every parser is built without torch, transformers or matplotlib
(``pdds --help``, ``pdds stats`` and ``pdds plan`` work with the core install); a command that
needs an extra says so in one line.

Exit codes: 0 success, 1 a data or runtime error (one line naming the file and what was
expected), 2 a usage error, 130 interrupted. ``pdds --debug ...`` or ``PDDS_DEBUG=1`` prints the
full traceback to stderr before that line (the exit code stays the same).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

from .. import __version__
from ..util.errors import PddsError
from ._common import Formatter, MissingExtra, UsageError
from .extract import add_extract
from .power import add_power
from .run import add_run
from .saved import add_evaluate, add_predict
from .stores import add_demo, add_download, add_info
from .votes import add_plan, add_stats

DESCRIPTION = """PDDS: pairwise-emotion data distribution smoothing for speech emotion recognition
(the companion of Liang, Jiang, Xu and Zhou, ICASSP 2023).

Vote statistics and PDDS plans need only the core install; extraction and training need the
ml extra (pip install 'pddslib[ml]')."""

EPILOG = """examples:
  pdds stats --reference train
  pdds plan --reference train --json
  pdds extract --iemocap /data/IEMOCAP_full_release --out /data/pdds-store
  pdds run --model cltnet --strategy pdds --corpus demo --out results/
  pdds evaluate results/models/cltnet-pdds-seed0-* --out rescored/
  pdds power results/ --effect 0.7 --metric wa

Run `pdds COMMAND --help` for a command's options and examples.

errors: one line on stderr naming the file and what was expected; exit code 1 for a data or
runtime error, 2 for a usage error, 130 when interrupted. `pdds --debug COMMAND ...` (or
PDDS_DEBUG=1 in the environment) prints the full traceback before that line."""


def build_parser() -> argparse.ArgumentParser:
    """The ``pdds`` parser with every sub-command (no heavy import)."""
    parser = argparse.ArgumentParser(prog="pdds", description=DESCRIPTION, epilog=EPILOG, formatter_class=Formatter)
    parser.add_argument("--version", action="version", version=f"pddslib {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the full traceback before the one-line message (also: PDDS_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_stats, add_plan, add_download, add_demo, add_extract, add_info, add_run, add_evaluate,
                add_predict, add_power):
        add(sub)
    return parser


def _message(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    while text.startswith("pdds: "):  # never "pdds: error: pdds: ..."
        text = text[len("pdds: "):]
    return text.removeprefix("error: ")


def _debugging(args: argparse.Namespace) -> bool:
    """``pdds --debug`` or ``PDDS_DEBUG`` set to anything but empty or 0."""
    return bool(args.debug) or os.environ.get("PDDS_DEBUG", "").strip() not in ("", "0")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pdds``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"pdds: warning: {msg}\n"

    def say(line: str, err: BaseException) -> None:
        if _debugging(args):
            traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
        print(line, file=sys.stderr, flush=True)

    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        say(f"pdds {args.command}: error: {_message(err)}", err)
        parser.exit(2)
    except BrokenPipeError:  # `pdds ... | head`: the reader left; exit quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MissingExtra as err:
        say(str(err), err)
        return 1
    except (PddsError, ValueError, OSError, FloatingPointError) as err:
        say(f"pdds {args.command}: error: {_message(err)}", err)
        return 1
    except KeyboardInterrupt as err:
        say(f"pdds {args.command}: interrupted (finished work is kept; run the same command again to resume)", err)
        return 130
    finally:
        warnings.formatwarning = previous
    return 1  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
