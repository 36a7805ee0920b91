"""What an extraction reads: one :class:`ExtractionInputs` per corpus, the same machinery for all.

A corpus reader (IEMOCAP: :func:`pddslib.features.extract.read_inputs`; a manifest:
:mod:`pddslib.features.inputs_manifest`; CREMA-D: :mod:`pddslib.features.inputs_crema_d`)
returns the utterances to store with their manifest rows (the store's columns and ``dist_*``),
their wav files, their transcripts (None: an audio-only corpus), a hash of the annotations
(labels) and a content hash of the inputs that determine the features (utterance ids, wavs,
transcripts). :func:`pddslib.features.extract.extract_inputs` does the rest: shards, resuming,
"up to date", relabelling, assembly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..util.hashing import config_hash, file_hash
from .audio import WavInfo, wav_info

MAX_LISTED = 5


@dataclass
class ExtractionInputs:
    """The utterances of one extraction and the identity of what they are read from.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per utterance to store: the store's manifest columns
        (:data:`pddslib.features.store.MANIFEST_COLUMNS`), ``dist_<class>`` and optional extras
        (``votes_<class>``, ``n_evaluators``, ...).
    texts : list of str, or None
        Transcripts in ``frame`` order; None for an audio-only corpus (no text model is loaded,
        the store holds only ``audio``).
    wavs : list of WavInfo
    annotations : str
        Hash of the label sources (a change re-derives the labels only).
    features : str
        Content hash of the utterance ids, wavs and transcripts (a change extracts again).
    corpus : str
        Recorded in the store (``iemocap``, ``crema-d``, ``manifest``).
    classes : tuple of str
    synthetic : bool
        Generated data (the CREMA-D demo tree's audio); recorded in the store.
    notes : list of str
        Phrases for the final summary line (e.g. "644 clips without a majority label left out").
    label_sources : str
        What a relabel follows, for its message.
    """

    frame: pd.DataFrame
    texts: list[str] | None
    wavs: list[WavInfo]
    annotations: str = ""
    features: str = ""
    corpus: str = "iemocap"
    classes: tuple[str, ...] = ()
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    label_sources: str = "vote policy or EmoEvaluation files"

    @property
    def utt_ids(self) -> list[str]:
        return self.frame["utt_id"].tolist()

    @property
    def modalities(self) -> tuple[str, ...]:
        return ("audio",) if self.texts is None else ("audio", "text")


def listing(items: list[str], total: int, what: str) -> str:
    shown = "\n  ".join(items[:MAX_LISTED])
    more = f"\n  ... and {total - MAX_LISTED} more" if total > MAX_LISTED else ""
    return f"{total} {what}:\n  {shown}{more}"


def file_digest(path: Path) -> str:
    """The content digest of a wav (blake2b, 16 bytes): wavs are many and only compared with each other."""
    return file_hash(path, "blake2b", digest_size=16)


def read_wavs(paths: Sequence[Path], workers: int = 2) -> tuple[list[WavInfo], list[str]]:
    """Headers and content digests of the wavs (threads)."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        wavs = list(pool.map(wav_info, paths))
        digests = list(pool.map(file_digest, paths))
    return wavs, digests


def features_hash(utt_ids: Sequence[str], texts: Sequence[str] | None, digests: Sequence[str]) -> str:
    """The content hash of what determines the features (``texts`` None: audio only)."""
    what: dict[str, Any] = {"utt_ids": list(utt_ids), "wavs": list(digests)}
    if texts is not None:
        what["texts"] = list(texts)
    return config_hash(what)


def labels_hash(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """A hash of the label columns of a frame (what a relabel follows)."""
    h = hashlib.sha256()
    h.update(frame[list(columns)].to_csv(index=False).encode())
    return h.hexdigest()[:16]
