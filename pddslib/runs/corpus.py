"""The corpus a run trains on: a registered corpus's store (:mod:`pddslib.features.corpus_kinds`: the
demo, an extracted IEMOCAP or CREMA-D store, ...) or a store named by its path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunSettings, RunSpec
from ..features.corpus_kinds import DEFAULT, find, get, kind_of_store, kinds
from ..features.store import FeatureStore


@dataclass
class Corpus:
    """A feature store to run on (the demo corpus or extracted features)."""

    store: FeatureStore
    name: str

    @property
    def synthetic(self) -> bool:
        return self.store.synthetic

    @property
    def scale(self) -> float | None:
        """The demo corpus's size as a fraction of IEMOCAP's (None for real data)."""
        scale = self.store.meta.get("config", {}).get("scale")
        return float(scale) if self.synthetic and scale is not None else None

    @property
    def key(self) -> str:
        """The store's content fingerprint (what run keys are computed from)."""
        return self.store.fingerprint

    @property
    def data_note(self) -> str:
        """What a reader must know about synthetic data ("" for real data): its corpus object's note."""
        if not self.synthetic:
            return ""
        kind = kind_of_store(self.store)
        return kind.note if kind is not None else ""

    def spec(self, settings: RunSettings, model: str, strategy: str, seed: int, **extra: Any) -> RunSpec:
        """``settings.spec`` with this corpus's defaults."""
        return settings.spec(model, strategy, seed, synthetic=self.synthetic, scale=self.scale, **extra)


def iemocap_store_path(store: str | os.PathLike | None = None) -> Path:
    """The IEMOCAP feature store: ``store`` or ``$PDDS_CACHE/iemocap-features``."""
    return get("iemocap").store_path(store)


def crema_d_store_path(store: str | os.PathLike | None = None) -> Path:
    """The CREMA-D feature store: ``store`` or ``$PDDS_CACHE/crema-d-features``."""
    return get("crema-d").store_path(store)


def load_corpus(corpus: str = DEFAULT, *, store: str | os.PathLike | None = None, demo_scale: float | None = None,
                demo_seed: int = 0, validate: bool = True) -> Corpus:
    """Open a corpus's feature store (nothing is extracted here: see :func:`pddslib.features.extract.extract`).

    Parameters
    ----------
    corpus : {"demo", "iemocap", "crema-d"}, another registered corpus, or a store path
        A name of :mod:`pddslib.features.corpus_kinds` (a ``pdds run --corpus`` choice): ``demo``,
        the generated demo corpus (generated and cached on first use); ``iemocap``, the store at
        ``store`` (default ``$PDDS_CACHE/iemocap-features``); ``crema-d``, the store at ``store``
        (default ``$PDDS_CACHE/crema-d-features``). A path: that store (any corpus, e.g. one
        extracted from a manifest), shown under its corpus's name.
    store : path, optional
        The named corpus's feature store.
    demo_scale, demo_seed : float, int
        Size (fraction of IEMOCAP's; default :data:`pddslib.corpora.demo.DEFAULT_SCALE`) and seed
        of the demo corpus.
    validate : bool
        Scan the features for NaN/inf when opening.
    """
    kind = find(corpus)
    name = None
    if kind is not None and kind.runnable:
        path, name = kind.locate(store, demo_scale=demo_scale, demo_seed=demo_seed)
    else:
        path = Path(corpus)
    if (path / "store.json").is_file():
        opened = FeatureStore.open(path, validate=validate)
        owner = kind_of_store(opened)
        return Corpus(opened, name or (owner.display_name(opened) if owner is not None else opened.corpus))
    names = ", ".join(repr(k.name) for k in kinds() if k.runnable)
    raise ValueError(f"corpus must be {names} or a feature-store folder, got {corpus!r}")


def check_model_fits(model: str, store: FeatureStore) -> None:
    """One line naming the store when ``model`` needs a modality it lacks (an audio-only store)."""
    from ..config import check_model_fits as check

    check(model, store.modalities, f"{store.path} ({store.corpus})")
