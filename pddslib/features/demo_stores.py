"""The feature stores of the two demos, built from their corpora's votes: the generated IEMOCAP-shaped
corpus (:mod:`pddslib.corpora.demo`: votes and feature arrays) and the CREMA-D demo
(:mod:`pddslib.corpora.crema_d_demo`: real votes, generated wavs and encoder, extracted here).

The corpora wing generates votes, arrays and audio; writing them as a store is this wing's, so that
corpora never imports features. ``pdds demo`` and the notebooks' default corpus come from here, and
so do the two demos' corpus objects (:class:`DemoCorpus`, :class:`CremaDDemoCorpus`;
:mod:`pddslib.features.corpus_kinds`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..corpora import crema_d_demo, demo
from ..pdds.labels import CLASSES
from ..util.hashing import config_hash
from ..util.locations import cache_path
from .corpus_kinds import CorpusKind, Flag, register
from .store import VERSION, write_store


def _demo_inputs(scale: float, seed: int, *, audio_dim: int, text_dim: int, frame_rate: float,
                 noise: float) -> dict[str, Any]:
    """The arguments of :func:`pddslib.features.store.write_store` for the demo corpus."""
    table = demo.votes(scale, seed)
    six = table[table["consensus"].isin(CLASSES)].reset_index(drop=True).copy()
    audio, text = demo.generate_features(six, seed=seed, audio_dim=audio_dim, text_dim=text_dim,
                                         frame_rate=frame_rate, noise=noise)
    six["audio_len"] = [len(a) for a in audio]
    six["text_len"] = [len(t) for t in text]
    # "generator" names the module that generates the corpus; the config (and so the store's
    # fingerprint and every demo run key) is the same as when pddslib.corpora.demo wrote the store
    config = {"generator": "pddslib.corpora.demo", "generator_version": demo.GENERATOR_VERSION, "scale": scale,
              "seed": seed, "audio_dim": audio_dim, "text_dim": text_dim, "frame_rate": frame_rate, "noise": noise}
    return dict(manifest=six, modalities={"audio": audio, "text": text}, classes=CLASSES,
                dims={"audio": audio_dim, "text": text_dim}, config=config,
                corpus="demo (synthetic)", synthetic=True, dtype="float32")


def write_demo_store(out: str | Path, scale: float = demo.DEFAULT_SCALE, seed: int = 0, *, audio_dim: int = 32,
                     text_dim: int = 24, frame_rate: float = 5.0, noise: float = 1.0,
                     overwrite: bool = False) -> Path:
    """Generate the demo corpus and write it as a feature store (6-class utterances only).

    Parameters
    ----------
    out : str or Path
        The store folder to create.
    scale, seed : float, int
        Size (fraction of IEMOCAP's) and random seed, as :func:`pddslib.corpora.demo.votes`.
    audio_dim, text_dim, frame_rate, noise
        As :func:`pddslib.corpora.demo.generate_features`.
    overwrite : bool
        Replace an existing ``out`` (readers of the old store never find the folder missing).

    Returns
    -------
    Path

    Raises
    ------
    FileExistsError
        ``out`` exists and ``overwrite`` is False.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out}: already exists; choose another --out or delete it")
    inputs = _demo_inputs(scale, seed, audio_dim=audio_dim, text_dim=text_dim, frame_rate=frame_rate, noise=noise)
    return write_store(out, **inputs, overwrite=overwrite)


def demo_cache_dir() -> Path:
    """Where generated demo stores are kept (``$PDDS_CACHE/demo``, default ``~/.cache/pddslib/demo``)."""
    return cache_path("demo")


def ensure_demo_store(scale: float = demo.DEFAULT_SCALE, seed: int = 0, **kwargs: Any) -> Path:
    """The demo store for these settings, generated on first use and cached.

    The store is published write-once (its folder name is a hash of the settings): processes that
    need it at the same time may each generate it, the first to finish publishes it, and readers
    never see it missing or half-written. A cached folder without ``store.json`` (damaged by hand)
    is replaced.

    Parameters
    ----------
    scale, seed : float, int
        As :func:`write_demo_store`.
    **kwargs
        ``audio_dim``, ``text_dim``, ``frame_rate``, ``noise`` (see :func:`write_demo_store`).

    Returns
    -------
    Path
    """
    # the store format is in the key: a store cached by an older pddslib is not reused
    key = config_hash({"scale": scale, "seed": seed, "v": demo.GENERATOR_VERSION, "store": VERSION, **kwargs})
    path = demo_cache_dir() / f"scale{scale:g}-seed{seed}-{key}"
    if (path / "store.json").is_file():
        return path
    settings = {"audio_dim": 32, "text_dim": 24, "frame_rate": 5.0, "noise": 1.0, **kwargs}
    inputs = _demo_inputs(scale, seed, **settings)
    if path.exists():  # not a store (damaged): replace it, never deleting it under a reader
        return write_store(path, **inputs, overwrite=True)
    return write_store(path, **inputs, once=True)


def ensure_crema_d_demo_store(out: str | Path | None = None, *,
                              actors: Sequence[int] = crema_d_demo.SAMPLE_ACTORS, seed: int = 0,
                              votes: str | Path | None = None, agreement: float | None = None,
                              device: str = "cpu", log: Callable[[str], Any] | None = None) -> Path:
    """The CREMA-D demo's audio-only store, extracted by the real ``pdds extract --crema-d`` code.

    Parameters
    ----------
    out : str or Path, optional
        The store folder (default: ``store`` beside the cached tree). An existing store of the same
        inputs is up to date; another agreement relabels it.
    actors, seed, votes
        As :func:`pddslib.corpora.crema_d_demo.write_tree`.
    agreement : float, optional
        The clear-sample threshold (default :data:`pddslib.corpora.crema_d.DEFAULT_AGREEMENT`).

    Returns
    -------
    Path
        The store; ``store.json`` says ``synthetic`` (generated audio).
    """
    from transformers.utils import logging as hf_logging

    from .extract import extract_crema_d

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bars in a notebook
    try:
        tree, model = crema_d_demo.ensure_parts(actors, seed, votes)
        out = Path(out) if out is not None else tree.parent / "store"
        return extract_crema_d(tree, out, agreement=agreement, audio_model=model, synthetic=True, device=device,
                               progress=False, log=log)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


_WARNING = ("They are <b>not {whose} numbers and not comparable to the paper's</b>; they show that the pipeline "
            "runs. {what} Run the notebook with <code>-p {param}</code> for real results{where}.")


class DemoCorpus(CorpusKind):
    """The synthetic, IEMOCAP-shaped demo corpus (:mod:`pddslib.corpora.demo`): generated votes and
    features, its store generated and cached on first use (:func:`ensure_demo_store`)."""

    name, display, order, synthetic = "demo", "demo", 0, True
    store_names = ("demo (synthetic)",)
    split_rule = "sessions 1-4 train, 5 test (as IEMOCAP)"
    note = "SYNTHETIC demo data; the numbers are not IEMOCAP's and not comparable to the paper's"
    summary_tag = " [SYNTHETIC demo data, not IEMOCAP]"

    def figure_votes(self, *, demo_scale: float | None = None, demo_seed: int = 0, sessions: Any = "1,2,3,4",
                     **_: Any) -> tuple[Any, Any]:
        from ..corpora import open_votes

        scale = demo.resolve_scale(demo_scale)
        return (open_votes("demo", scale=scale, seed=demo_seed, sessions=sessions),
                open_votes("demo", scale=scale, seed=demo_seed))

    def write_demo(self, out: str | Path, options: Any) -> Path:
        return write_demo_store(out, scale=options.scale, seed=options.seed)

    def locate(self, store: str | Path | None = None, *, demo_scale: float | None = None,
               demo_seed: int = 0) -> tuple[Path, str | None]:
        scale = demo.DEFAULT_SCALE if demo_scale is None else demo_scale
        return ensure_demo_store(scale, demo_seed), f"demo (synthetic, scale {scale:g})"

    def banner(self, name: str, what: str) -> str:
        return (f"These results come from the <b>synthetic demo corpus</b> ({html.escape(name)}), generated by "
                f"<code>pddslib.corpora.demo</code>. "
                + _WARNING.format(whose="IEMOCAP's", what=what, param="corpus iemocap",
                                  where=" (see the reproduction guide)"))


class CremaDDemoCorpus(CorpusKind):
    """The CREMA-D demo (:mod:`pddslib.corpora.crema_d_demo`): CREMA-D's real crowd votes with generated
    audio and a random encoder, extracted by the real CREMA-D code (:func:`ensure_crema_d_demo_store`).
    Its stores record the corpus ``crema-d`` (synthetic); ``pdds demo --crema-d`` writes one."""

    name, display, order, synthetic, runnable = "crema-d-demo", "CREMA-D (synthetic audio)", 4, True, False
    store_names = ("crema-d",)
    split_rule = "actors 1001-1064 train, 1065-1091 test (as CREMA-D)"
    demo_flag = Flag("--crema-d", "", "write the audio-only CREMA-D demo store instead (ten actors; the ml extra)")
    note = ("SYNTHETIC audio with real CREMA-D crowd votes (the CREMA-D demo); the numbers are not "
            "CREMA-D's")
    summary_tag = " [SYNTHETIC audio with real CREMA-D votes]"

    def prepare(self, root: str, store: str, *, agreement: float | None, quick: bool,
                device: str) -> tuple[str, str]:
        actors = crema_d_demo.QUICK_ACTORS if quick else crema_d_demo.SAMPLE_ACTORS
        return str(ensure_crema_d_demo_store(actors=actors, agreement=agreement, device=device)), ""

    def write_demo(self, out: str | Path, options: Any) -> Path:
        import soundfile  # noqa: F401  (the ml extra: checked before any work)
        import torch  # noqa: F401

        actors = crema_d_demo.QUICK_ACTORS if options.quick else crema_d_demo.SAMPLE_ACTORS
        return ensure_crema_d_demo_store(out, actors=actors, seed=options.seed, votes=options.votes,
                                         agreement=options.agreement, log=print)

    def display_name(self, store: Any) -> str:
        return self.display

    def banner(self, name: str, what: str) -> str:
        return (f"These results come from the <b>CREMA-D demo</b> ({html.escape(name)}): CREMA-D's real crowd "
                f"votes with <b>synthetic audio</b> generated by <code>pddslib.corpora.crema_d_demo</code> and a "
                f"randomly initialised audio encoder. "
                + _WARNING.format(whose="CREMA-D's", what=what, param="crema_d_root /data/CREMA-D", where=""))


register(DemoCorpus())
register(CremaDDemoCorpus())
