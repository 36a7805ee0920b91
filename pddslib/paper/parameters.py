"""What every notebook does first: resolve its papermill parameters into a corpus and run settings.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..config import DEFAULT_SEEDS, RunSettings, corpus_defaults
from ..corpora.demo import resolve_scale
from ..features.corpus_kinds import DEFAULT, find, get, kind_of_store, kinds
from ..runs.corpus import Corpus, load_corpus

#: CI's quick runs: every notebook shrunk to a smoke run.
QUICK = {"demo_scale": 0.05, "seeds": 2, "epochs": 2}


@dataclass
class Setup:
    """A notebook's corpus and run settings, with the resolved values it displays."""

    corpus: Corpus
    settings: RunSettings
    quick: bool

    @property
    def synthetic(self) -> bool:
        return self.corpus.synthetic

    @property
    def n_seeds(self) -> int:
        return len(self.settings.seed_values)

    def value(self, name: str, strategy: str = "pdds") -> Any:
        """The value a run setting takes on this corpus (``max_epochs``, ``level``, ``sigma``, ...)."""
        return self.settings.value(name, synthetic=self.corpus.synthetic, scale=self.corpus.scale, strategy=strategy)

    @property
    def max_epochs(self) -> int:
        return int(self.value("max_epochs"))

    @property
    def level(self) -> int:
        return int(self.value("level", strategy="uniform"))

    def model_overrides(self, model: str) -> dict[str, Any]:
        return self.settings.resolved(model, synthetic=self.corpus.synthetic, scale=self.corpus.scale)[1]


def setup(*, corpus: str = DEFAULT, iemocap_root: str = "", store: str = "", seeds: int = DEFAULT_SEEDS,
          epochs: int | None = None, quick: bool = False, device: str = "auto", demo_scale: float | None = None,
          cache_dir: str = "", sigma: float | None = None, p: float | None = None, level: int | None = None,
          amp: bool = False, crema_d_root: str = "", agreement: float | None = None, jobs: int | None = None,
          scheduler: str | None = None, **readings: Any) -> Setup:
    """Turn a notebook's papermill parameters into a corpus and run settings.

    ``None`` means the default for the corpus (:func:`pddslib.config.corpus_defaults`: the paper's
    settings on real data; fewer epochs and a scaled uniform level on the demo corpus), exactly
    as ``pdds run`` resolves it, so the same choices hit the same cached runs. ``quick`` (CI)
    shrinks everything to a smoke run. With ``corpus="iemocap"`` and ``iemocap_root``, a missing
    feature store is extracted first (resumable; see ``pdds extract``). ``readings``: any other run
    setting (``normalize``, ``pairs``, ``align``, ``targets``, ``class_weight``, ``bucket``, ...;
    None: the default), so that a notebook can run under another reading of the paper. Every value
    is checked against its declared constraints first, before any corpus is made or extracted:
    ``setup(sigma=-1)`` raises ``The 'sigma' parameter of PDDS must be a float in the range [0, inf).
    Got -1 instead.``

    ``corpus="crema-d"``: with ``crema_d_root``, the release's audio-only store (``store``, default
    ``$PDDS_CACHE/crema-d-features``) is extracted first when missing, and relabelled when its
    clear-sample threshold is not ``agreement`` (None: the default 0.8); with ``store`` alone, that
    store; with neither, the CREMA-D demo (:mod:`pddslib.corpora.crema_d_demo`: real crowd votes,
    SYNTHETIC audio; four actors when ``quick``).

    ``jobs``: runs trained at once (:mod:`pddslib.runs.workers`; None: ``"auto"``, one per CPU on a CPU
    and a few on a GPU); the results do not depend on it. ``scheduler``: a Dask cluster to train the
    runs on (an address ``tcp://host:8786`` or a scheduler file; :mod:`pddslib.runs.cluster`); None or
    "": this machine.

    Any registered corpus (:mod:`pddslib.features.corpus_kinds`) is a ``corpus``: its notebook root
    parameter (``iemocap_root``, ``crema_d_root``, or a registered corpus's, given in ``readings``)
    goes to its ``prepare``, which extracts what is missing.
    """
    if quick:
        demo_scale, seeds = min(resolve_scale(demo_scale), QUICK["demo_scale"]), min(seeds, QUICK["seeds"])
        epochs = QUICK["epochs"] if epochs is None else min(epochs, QUICK["epochs"])
    roots = _roots(readings, iemocap_root=iemocap_root, crema_d_root=crema_d_root)
    # first, so that a bad value fails here, before any extraction or corpus (RunSettings checks every value)
    settings = RunSettings(seeds=seeds, params={"max_epochs": epochs, "sigma": sigma, "p": p, "level": level,
                                                "amp": amp or None, **readings},
                           device=device, cache_dir=cache_dir or None, jobs="auto" if jobs is None else jobs,
                           scheduler=scheduler or None)
    kind = find(corpus)
    if kind is not None:  # a registered corpus: extracted from its root first when that is needed
        corpus, store = kind.prepare(roots.get(kind.root_parameter or "", ""), store, agreement=agreement,
                                     quick=quick, device=device)
    c = load_corpus(corpus, store=store or None, demo_scale=resolve_scale(demo_scale))
    return Setup(c, settings, quick)


def _roots(readings: dict[str, Any], **given: str) -> dict[str, str]:
    """Every registered corpus's notebook root parameter and its value (those of corpora added by a
    registration arrive in ``readings``, and are taken out of them: they are no run setting)."""
    roots = dict(given)
    for kind in kinds():
        if kind.root_parameter and kind.root_parameter not in roots:
            roots[kind.root_parameter] = str(readings.pop(kind.root_parameter, "") or "")
    return roots


def uniform_level(level: int | None = None, *, synthetic: bool, demo_scale: float | None) -> int:
    """The uniform balancing level: ``level`` if given, else the corpus default
    (:func:`pddslib.config.corpus_defaults`)."""
    if level:
        return int(level)
    from ..config import default_of

    params = corpus_defaults(synthetic=synthetic, scale=resolve_scale(demo_scale))["params"]
    return int(params.get("level", default_of("uniform", "level")))


def banner(corpus: Corpus | None = None, *, synthetic: bool | None = None, what: str = "") -> Any:
    """An HTML admonition telling the reader which data the numbers come from."""
    from IPython.display import HTML

    synth = corpus.synthetic if synthetic is None else synthetic
    name = corpus.name if corpus is not None else ""
    if synth:  # the corpus object's warning (the demo's when the store names none)
        kind = kind_of_store(corpus.store, synthetic=True) if corpus is not None else None
        body = (kind if kind is not None and kind.synthetic else get(DEFAULT)).banner(name, what)
        return HTML(f'<div class="admonition warning"><p class="admonition-title">Synthetic demo data</p>'
                    f"<p>{body}</p></div>")
    body = (f"These results come from <b>{html.escape(name)}</b>. {what}" if name else what)
    return HTML(f'<div class="admonition note"><p class="admonition-title">Data</p><p>{body}</p></div>')
