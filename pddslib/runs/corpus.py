"""The corpus a run trains on: the demo, an extracted IEMOCAP or CREMA-D store, or a named store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunSettings, RunSpec
from ..features.store import FeatureStore
from ..util.locations import cache_path


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
        """What a reader must know about synthetic data ("" for real data)."""
        if not self.synthetic:
            return ""
        if self.store.corpus == "crema-d":
            return ("SYNTHETIC audio with real CREMA-D crowd votes (the CREMA-D demo); the numbers are not "
                    "CREMA-D's")
        return "SYNTHETIC demo data; the numbers are not IEMOCAP's and not comparable to the paper's"

    def spec(self, settings: RunSettings, model: str, strategy: str, seed: int, **extra: Any) -> RunSpec:
        """``settings.spec`` with this corpus's defaults."""
        return settings.spec(model, strategy, seed, synthetic=self.synthetic, scale=self.scale, **extra)


def iemocap_store_path(store: str | os.PathLike | None = None) -> Path:
    """The IEMOCAP feature store: ``store`` or ``$PDDS_CACHE/iemocap-features``."""
    return Path(store) if store else cache_path("iemocap-features")


def crema_d_store_path(store: str | os.PathLike | None = None) -> Path:
    """The CREMA-D feature store: ``store`` or ``$PDDS_CACHE/crema-d-features``."""
    return Path(store) if store else cache_path("crema-d-features")


def load_corpus(corpus: str = "demo", *, store: str | os.PathLike | None = None, demo_scale: float | None = None,
                demo_seed: int = 0, validate: bool = True) -> Corpus:
    """Open a corpus's feature store (nothing is extracted here: see :func:`pddslib.features.extract.extract`).

    Parameters
    ----------
    corpus : {"demo", "iemocap", "crema-d"} or a store path
        ``demo``: the generated demo corpus (generated and cached on first use). ``iemocap``: the
        store at ``store`` (default ``$PDDS_CACHE/iemocap-features``). ``crema-d``: the store at
        ``store`` (default ``$PDDS_CACHE/crema-d-features``). A path: that store (any corpus,
        e.g. one extracted from a manifest).
    store : path, optional
        The IEMOCAP or CREMA-D feature store.
    demo_scale, demo_seed : float, int
        Size (fraction of IEMOCAP's; default :data:`pddslib.corpora.demo.DEFAULT_SCALE`) and seed
        of the demo corpus.
    validate : bool
        Scan the features for NaN/inf when opening.
    """
    if corpus == "demo":
        from ..corpora import demo
        from ..features.demo_stores import ensure_demo_store

        demo_scale = demo.DEFAULT_SCALE if demo_scale is None else demo_scale
        return Corpus(FeatureStore.open(ensure_demo_store(demo_scale, demo_seed), validate=validate),
                      f"demo (synthetic, scale {demo_scale:g})")
    if corpus == "iemocap":
        path = _extracted_store(iemocap_store_path(store), "IEMOCAP", "iemocap")
        return Corpus(FeatureStore.open(path, validate=validate), "IEMOCAP")
    if corpus == "crema-d":
        path = _extracted_store(crema_d_store_path(store), "CREMA-D", "crema-d")
        return Corpus(*_named(FeatureStore.open(path, validate=validate)))
    path = Path(corpus)
    if (path / "store.json").is_file():
        return Corpus(*_named(FeatureStore.open(path, validate=validate)))
    raise ValueError(f"corpus must be 'demo', 'iemocap', 'crema-d' or a feature-store folder, got {corpus!r}")


def _extracted_store(path: Path, name: str, option: str) -> Path:
    """``path`` when it holds a feature store; else a one-line error saying how to extract it."""
    if not (path / "store.json").is_file():
        raise FileNotFoundError(
            f"{path}: no {name} feature store. Run `pdds extract --{option} ROOT --out {path}` once "
            f"(or give the notebook {option.replace('-', '_')}_root, which extracts it first)")
    return path


def _named(store: FeatureStore) -> tuple[FeatureStore, str]:
    """A store and the name its results are shown under."""
    if store.corpus == "crema-d":
        return store, "CREMA-D (synthetic audio)" if store.synthetic else "CREMA-D"
    return store, store.corpus


def check_model_fits(model: str, store: FeatureStore) -> None:
    """One line naming the store when ``model`` needs a modality it lacks (an audio-only store)."""
    from ..config import check_model_fits as check

    check(model, store.modalities, f"{store.path} ({store.corpus})")
