"""What the ``pdds`` sub-commands share: argument types, the vote-source options, the sampler
options (read from the samplers' declared constraints), errors."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config import DEFAULT_AGREEMENT
from ..util.constraints import from_text, options_of
from ..util.errors import PddsError

#: Sub-commands and the optional dependency ("extra") each needs beyond the core install.
EXTRAS = {"extract": "ml", "run": "ml", "evaluate": "ml", "predict": "ml", "power": "ml"}
#: Modules whose absence means an extra is missing.
_EXTRA_MODULES = {"torch", "transformers", "soundfile", "scipy", "matplotlib", "safetensors"}


class UsageError(PddsError):
    """A wrong combination of arguments (exit code 2, like argparse's own errors)."""


class MissingExtra(PddsError):
    """A command needs an optional dependency that is not installed (exit code 1)."""


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the example epilogs as written."""


def sessions(text: str) -> tuple[int, ...]:
    """``--sessions 1,2,3,4`` -> ``(1, 2, 3, 4)``."""
    try:
        out = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list like 1,2,3,4, got {text!r}") from None
    if not out or any(s < 1 or s > 5 for s in out):
        raise argparse.ArgumentTypeError(f"expected sessions among 1..5, got {text!r}")
    return out


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def jobs(text: str) -> int | str:
    """``--jobs 4`` or ``--jobs auto``."""
    return "auto" if text == "auto" else positive_int(text)


def agreement(text: str) -> float:
    """``--agreement 0.8``: a share in (0.5, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0.5, 1], got {text!r}") from None
    if not 0.5 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0.5, 1], got {text!r}")
    return value


def constrained(constraints: Sequence[Any]) -> Callable[[str], Any]:
    """An argparse ``type``: the text read and checked against declared constraints.

    A value outside them is argparse's usage error (exit 2), one line naming the option, what it
    may be and the value: ``argument --sigma: expected a float in the range [0, inf), got -1``
    (:func:`pddslib.util.constraints.from_text`).
    """
    def convert(text: str) -> Any:
        try:
            return from_text(constraints, text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return convert


def add_constrained(p: argparse.ArgumentParser | argparse._ArgumentGroup, flag: str, constraints: Sequence[Any],
                    *, help: str, dest: str | None = None) -> None:
    """An option (default None: "the default") whose values are the declared ones: the declared
    options as ``choices``, or numbers read and checked by :func:`constrained`."""
    choices = options_of(constraints)
    kind: dict[str, Any] = {"choices": list(choices)} if choices else {"type": constrained(constraints)}
    p.add_argument(flag, default=None, help=help, **({"dest": dest} if dest else {}), **kind)


#: The sampler options of ``pdds run`` and ``pdds plan``, declared once: name -> help text
#: (``{default}``: the sampler's default; ``{note}``: what a command adds, see :func:`add_sampler_options`).
SAMPLER_OPTIONS: dict[str, str] = {
    "p": "mixup weight of the major emotion (default {default}{note})",
    "sigma": "Gaussian kernel width of Eq. (1) (default {default}{note})",
    "normalize": "kernel normalisation (default {default}{note})",
    "level": "uniform balancing level (default {default}{note})",
    "align": "sequence alignment of mixup (default {default}{note})",
    "pairs": "uniform balancing: raise each ordered cell i>j, or each unordered pair {{i, j}}, to the level "
             "(default {default}{note})",
}


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_sampler_options(p: argparse.ArgumentParser | argparse._ArgumentGroup, names: Sequence[str], *,
                        notes: Mapping[str, str] | None = None) -> None:
    """Add ``--sigma``, ``--normalize``, ... (``names``, of :data:`SAMPLER_OPTIONS`) to a parser.

    Each option's values come from the declaration of the first registered sampler that takes the
    parameter (:func:`pddslib.pdds.registry.parameter_owners`): choices for options, a checked
    number otherwise; its help gives that sampler's default (``notes[name]`` is appended to it).
    """
    from ..pdds.registry import parameter_constraints, parameter_owners

    owners = parameter_owners()
    notes = notes or {}
    for name in names:
        default = owners[name]().get_params()[name]
        text = SAMPLER_OPTIONS[name].format(default=_shown(default), note=notes.get(name, ""))
        add_constrained(p, f"--{name}", parameter_constraints(name), help=text)


def add_device(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device``, as every command that runs a model takes it."""
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, cuda:1, ...")


def add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", default="default", choices=["default", "self", "strict", "drop-evaluator"],
                   help="IEMOCAP vote policy (default: external evaluators only, out-of-six labels ignored, "
                        "an evaluator naming none of the six excludes the utterance; see the Decisions page)")


def add_vote_source(p: argparse.ArgumentParser, counts: bool) -> None:
    """The options that choose where votes come from (exactly one is given): each registered corpus's
    flag (:mod:`pddslib.features.corpus_kinds`), a store, the packaged counts, a counts file."""
    from ..features.corpus_kinds import kinds

    g = p.add_argument_group("source of votes (exactly one)")
    for kind in kinds():  # each corpus's own flag (--iemocap ROOT, --crema-d PATH, --manifest CSV, ...)
        if kind.vote_flag is not None:
            g.add_argument(kind.vote_flag.name, metavar=kind.vote_flag.metavar, help=kind.vote_flag.help)
    g.add_argument("--store", metavar="STORE", help="a feature store's labels (e.g. one written by `pdds extract`)")
    g.add_argument("--reference", choices=["train", "test", "all"],
                   help="the packaged aggregate IEMOCAP counts of a split (no corpus needed)")
    if counts:
        g.add_argument("--counts", metavar="FILE.json", help="a file written by `pdds stats --json`")
    train = (1, 2, 3, 4)
    p.add_argument("--sessions", type=sessions, default=train,
                   help=f"IEMOCAP sessions to count (default {','.join(map(str, train))}: the training sessions)")
    p.add_argument("--modality", default="voice", choices=["voice", "face", "audiovisual"],
                   help="CREMA-D rating modality (default %(default)s)")
    p.add_argument("--agreement", type=agreement, default=None,
                   help="CREMA-D and manifests: clear when the top emotion has at least this share of the votes, "
                        "ambiguous when the top two have it together; in (0.5, 1] "
                        f"(default {DEFAULT_AGREEMENT:g} for CREMA-D, "
                        "1 = every vote agrees for a manifest)")
    p.add_argument("--split", default="train", choices=["train", "test", "all"],
                   help="manifests and stores: the split to count (default %(default)s: what PDDS smooths)")
    add_policy(p)


def needs_extra(command: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Turn a missing optional dependency into one line naming the extra to install."""
    def wrap(fn: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(fn)
        def inner(args: Any) -> int:
            try:
                return fn(args)
            except ModuleNotFoundError as err:
                if (err.name or "").split(".")[0] not in _EXTRA_MODULES:
                    raise
                extra = EXTRAS.get(command, "ml")
                raise MissingExtra(f"pdds {command} needs the {extra} extra ({err.name} is not installed): "
                                 f"pip install 'pddslib[{extra}]'") from None
        return inner
    return wrap
