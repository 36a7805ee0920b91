"""What every notebook does first: resolve its papermill parameters into a corpus and run settings.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ..config import DEFAULT_SEEDS, RunSettings, corpus_defaults
from ..corpora.demo import resolve_scale
from ..runs.corpus import Corpus, iemocap_store_path, load_corpus

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


def setup(*, corpus: str = "demo", iemocap_root: str = "", store: str = "", seeds: int = DEFAULT_SEEDS,
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
    """
    if quick:
        demo_scale, seeds = min(resolve_scale(demo_scale), QUICK["demo_scale"]), min(seeds, QUICK["seeds"])
        epochs = QUICK["epochs"] if epochs is None else min(epochs, QUICK["epochs"])
    # first, so that a bad value fails here, before any extraction or corpus (RunSettings checks every value)
    settings = RunSettings(seeds=seeds, params={"max_epochs": epochs, "sigma": sigma, "p": p, "level": level,
                                                "amp": amp or None, **readings},
                           device=device, cache_dir=cache_dir or None, jobs="auto" if jobs is None else jobs,
                           scheduler=scheduler or None)
    if corpus == "iemocap" and iemocap_root and not (iemocap_store_path(store) / "store.json").is_file():
        from ..features.extract import extract

        extract(iemocap_root, iemocap_store_path(store), device=device)
    if corpus == "crema-d":
        corpus, store = _crema_d_store(crema_d_root, store, agreement, quick, device), ""
    c = load_corpus(corpus, store=store or None, demo_scale=resolve_scale(demo_scale))
    return Setup(c, settings, quick)


def _crema_d_store(root: str, store: str, agreement: float | None, quick: bool, device: str) -> str:
    """The CREMA-D store a notebook runs on (see :func:`setup`), extracted or relabelled as needed."""
    import json

    from ..corpora import crema_d, crema_d_demo
    from ..features.demo_stores import ensure_crema_d_demo_store
    from ..runs.corpus import crema_d_store_path

    if root:
        path = crema_d_store_path(store)
        want = crema_d.DEFAULT_AGREEMENT if agreement is None else float(agreement)
        meta = path / "store.json"
        have = json.loads(meta.read_text()).get("config", {}).get("policy", {}).get("agreement") \
            if meta.is_file() else None
        if have != want:
            from ..features.extract import extract_crema_d

            extract_crema_d(root, path, agreement=want, device=device, log=print)
        return str(path)
    if store:
        return store
    actors = crema_d_demo.QUICK_ACTORS if quick else crema_d_demo.SAMPLE_ACTORS
    return str(ensure_crema_d_demo_store(actors=actors, agreement=agreement, device=device))


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
    if synth and corpus is not None and corpus.store.corpus == "crema-d":
        body = (f"These results come from the <b>CREMA-D demo</b> ({html.escape(name)}): CREMA-D's real crowd "
                f"votes with <b>synthetic audio</b> generated by <code>pddslib.corpora.crema_d_demo</code> and a "
                f"randomly initialised audio encoder. They are <b>not CREMA-D's numbers and not comparable to the "
                f"paper's</b>; they show that the pipeline runs. {what} Run the notebook with <code>-p "
                f"crema_d_root /data/CREMA-D</code> for real results.")
        return HTML(f'<div class="admonition warning"><p class="admonition-title">Synthetic demo data</p>'
                    f"<p>{body}</p></div>")
    if synth:
        body = (f"These results come from the <b>synthetic demo corpus</b> ({html.escape(name)}), generated by "
                f"<code>pddslib.corpora.demo</code>. They are <b>not IEMOCAP's numbers and not comparable to the "
                f"paper's</b>; they show that the pipeline runs. {what} Run the notebook with "
                f"<code>-p corpus iemocap</code> for real results (see the reproduction guide).")
        return HTML(f'<div class="admonition warning"><p class="admonition-title">Synthetic demo data</p>'
                    f"<p>{body}</p></div>")
    body = (f"These results come from <b>{html.escape(name)}</b>. {what}" if name else what)
    return HTML(f'<div class="admonition note"><p class="admonition-title">Data</p><p>{body}</p></div>')
