"""A corpus as one object: the interface (:class:`CorpusKind`) and its registry, looked up by name.

Runs, the paper and the ``pdds`` command ask a corpus here for everything that used to be a
switch on its name: its votes (``pdds stats/plan``, Fig. 1-2), what ``pdds extract --<flag> ROOT``
does, its train/test rule, its command-line flags, its default store, the notebook's root
parameter, whether it is synthetic, and what the banner, the data note and a store's summary say.
A feature store records its corpus's name (``store.corpus`` in ``store.json``):
:func:`kind_of_store` finds the object that wrote it.

Why here, in the features wing: a corpus object opens and extracts feature stores, and the corpora
wing may not import features (the developers page's wing table), while runs, paper and cli may
all import features. The votes stay the corpora wing's (:func:`pddslib.corpora.open_votes`): an
object only names the source and options it reads them with. The built-in objects register
themselves when their module is imported, which the features package does first (so that the
registry is full whenever it is imported): IEMOCAP, CREMA-D and manifests in :mod:`.real_corpora`
(beside the readers they wrap, the ``inputs*`` modules, which :mod:`.extract` imports: a corpus
object there would make an import circle), the two demos in :mod:`.demo_stores`. This module
imports no other module of the wing (a store, the demos, extraction): the objects do, when asked.

A new corpus is one module with a :class:`CorpusKind` subclass and one ``register(...)`` call
(the developers page's "Recipes").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..util.locations import cache_path

__all__ = ["DEFAULT", "CorpusKind", "Flag", "find", "get", "kind_of_store", "kinds", "register", "unregister"]

#: The corpus of ``pdds run`` and of the notebooks when none is named (the synthetic demo).
DEFAULT = "demo"


@dataclass(frozen=True)
class Flag:
    """A command-line flag: ``--iemocap ROOT`` and its help.

    Attributes
    ----------
    name : str
        The flag, with its dashes (``"--crema-d"``).
    metavar : str
        What the value names (``"ROOT"``; ignored for a switch).
    help : str
        The help line.
    """

    name: str
    metavar: str = ""
    help: str = ""

    @property
    def dest(self) -> str:
        """The attribute argparse stores it under (``--crema-d`` -> ``crema_d``)."""
        return self.name.lstrip("-").replace("-", "_")

    @property
    def usage(self) -> str:
        """``--iemocap ROOT`` (as messages name it)."""
        return f"{self.name} {self.metavar}".strip()


class CorpusKind:
    """One corpus: what pddslib needs to know of it, asked by name rather than switched on.

    Subclass it, set the attributes that apply and override the methods that apply; the defaults
    say "not offered" (no flag, no default store, no extraction). ``options`` below is any object
    with the command line's options as attributes (an :class:`argparse.Namespace`); a feature store
    is typed ``Any`` (this module imports no store: :mod:`.store` asks it for its summary's tag).

    Attributes
    ----------
    name : str
        The registry's key: ``pdds run --corpus NAME``, ``setup(corpus=NAME)``.
    display : str
        The name results are shown under (``"IEMOCAP"``).
    store_names : tuple of str
        The ``store.corpus`` values its stores record (default: ``(name,)``).
    synthetic : bool
        Generated data (the demos): its stores say ``synthetic`` and its texts warn.
    split_rule : str
        The train/test rule of its stores, in words.
    vote_flag : Flag or None
        The ``pdds stats/plan`` flag that reads its votes.
    extract_flag : Flag or None
        The ``pdds extract`` flag that extracts it into a store.
    demo_flag : Flag or None
        The ``pdds demo`` switch that writes its store instead of the default demo's.
    root_parameter : str or None
        The notebooks' parameter naming its release folder (``"iemocap_root"``).
    store_dir : str or None
        Its default store, a folder under ``$PDDS_CACHE`` (None: it has none).
    runnable : bool
        A ``pdds run --corpus`` choice (it needs a default store or its own :meth:`open`).
    default_agreement : float or None
        Its clear-sample threshold when ``--agreement`` is not given (None: not applicable).
    order : int
        Where it sorts among the corpora (flags, choices and messages list them in this order).
    note, summary_tag : str
        What :attr:`pddslib.runs.corpus.Corpus.data_note` and
        :meth:`pddslib.features.store.FeatureStore.summary` say of its synthetic stores.
    """

    name: str = ""
    display: str = ""
    store_names: tuple[str, ...] = ()
    synthetic: bool = False
    split_rule: str = ""
    vote_flag: Flag | None = None
    extract_flag: Flag | None = None
    demo_flag: Flag | None = None
    root_parameter: str | None = None
    store_dir: str | None = None
    runnable: bool = True
    default_agreement: float | None = None
    order: int = 100
    note: str = ""
    summary_tag: str = ""

    # -- votes ------------------------------------------------------------------------------------
    def votes(self, value: str, options: Any) -> Any:
        """The votes its ``vote_flag`` names (``value``: the flag's value), for ``pdds stats/plan``."""
        raise ValueError(f"corpus {self.name!r} has no votes to count")

    def stats_extra(self, value: str, options: Any, agreement: float | None) -> str:
        """More lines that ``pdds stats`` prints after the counts ("" for none)."""
        return ""

    def figure_votes(self, **options: Any) -> tuple[Any, Any]:
        """The votes of Fig. 1-2 (:func:`pddslib.paper.experiments.vote_counts`): those counted and
        the whole corpus's (for the one-hot sizes). ``options``: ``vote_counts``'s keywords."""
        raise ValueError(f"corpus {self.name!r} has no votes for Fig. 1-2")

    # -- extraction -------------------------------------------------------------------------------
    def extract(self, value: str, out: str | os.PathLike, options: Any, common: Mapping[str, Any]) -> Path:
        """``pdds extract --<extract_flag> VALUE --out OUT``: the store written (``common``: the
        options every extraction takes, as :func:`pddslib.features.extract.extract_inputs`)."""
        raise ValueError(f"corpus {self.name!r} is not extracted")

    def write_demo(self, out: str | os.PathLike, options: Any) -> Path:
        """``pdds demo``: write its generated store to ``out`` (the synthetic corpora)."""
        raise ValueError(f"corpus {self.name!r} has no demo store")

    def prepare(self, root: str, store: str, *, agreement: float | None, quick: bool,
                device: str) -> tuple[str, str]:
        """What a notebook's :func:`pddslib.paper.parameters.setup` opens: ``(corpus, store)`` for
        :func:`pddslib.runs.corpus.load_corpus`, after extracting from ``root`` (its
        ``root_parameter``'s value) when that is needed. Default: itself, at ``store``."""
        return self.name, store

    # -- stores -----------------------------------------------------------------------------------
    def store_path(self, store: str | os.PathLike | None = None) -> Path:
        """Its store: ``store``, else ``$PDDS_CACHE/<store_dir>``."""
        if store:
            return Path(store)
        if not self.store_dir:
            raise ValueError(f"corpus {self.name!r} has no default store; name one")
        return cache_path(self.store_dir)

    def locate(self, store: str | os.PathLike | None = None, *, demo_scale: float | None = None,
               demo_seed: int = 0) -> tuple[Path, str | None]:
        """Its store (``store``, else the default) for :func:`pddslib.runs.corpus.load_corpus` to open,
        and the name results are shown under (None: :meth:`display_name` of the store's corpus).

        Raises
        ------
        FileNotFoundError
            One line saying how to extract the store, when there is none.
        """
        path = self.store_path(store)
        if not (path / "store.json").is_file():
            flag = f" {self.extract_flag.usage}" if self.extract_flag else ""
            how = f"Run `pdds extract{flag} --out {path}` once"
            if self.root_parameter:
                how += f" (or give the notebook {self.root_parameter}, which extracts it first)"
            raise FileNotFoundError(f"{path}: no {self.display or self.name} feature store. {how}")
        return path, None

    def display_name(self, store: Any) -> str:
        """The name a store of it is shown under when opened by its path (default: ``store.corpus``)."""
        return store.corpus

    def banner(self, name: str, what: str) -> str:
        """The body (HTML) of the notebooks' warning about its synthetic data."""
        return f"These results come from <b>{name}</b>, SYNTHETIC data. {what}"


_KINDS: dict[str, CorpusKind] = {}


def register(kind: CorpusKind, *, replace: bool = False) -> CorpusKind:
    """Add a corpus (``replace``: over one of the same name). Returns it.

    Raises
    ------
    ValueError
        A corpus of that name exists (and not ``replace``), or the name is empty.
    """
    if not kind.name:
        raise ValueError("a corpus needs a name")
    if kind.name in _KINDS and not replace and _KINDS[kind.name] is not kind:
        raise ValueError(f"corpus {kind.name!r} is registered already")
    if not kind.store_names:
        kind.store_names = (kind.name,)
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a corpus (nothing happens when none has that name)."""
    _KINDS.pop(name, None)


def kinds() -> list[CorpusKind]:
    """Every registered corpus, in their ``order``."""
    return sorted(_KINDS.values(), key=lambda k: k.order)


def find(name: str) -> CorpusKind | None:
    """The corpus of that name, or None."""
    return _KINDS.get(name)


def get(name: str) -> CorpusKind:
    """The corpus of that name.

    Raises
    ------
    ValueError
        No corpus has that name (the message lists them).
    """
    kind = find(name)
    if kind is None:
        raise ValueError(f"unknown corpus {name!r}; expected one of {[k.name for k in kinds()]}")
    return kind


def kind_of_store(store: Any, synthetic: bool | None = None) -> CorpusKind | None:
    """The corpus that wrote a store (by ``store.corpus`` and whether it is synthetic): for a
    synthetic store of no registered corpus, the demo's; None for a real store of none."""
    synth = store.synthetic if synthetic is None else synthetic
    for kind in kinds():
        if store.corpus in kind.store_names and kind.synthetic == synth:
            return kind
    return find(DEFAULT) if synth else None
