"""A feature store's labels as votes (``pdds stats --store``, ``pdds plan --store``): a store is a
source of votes like a corpus, read here because the corpora wing imports no feature store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..corpora import open_votes
from ..corpora.votes import Votes, conform, split_rows, table_columns
from ..pdds.labels import NO_CELL_REASONS
from .store import FeatureStore


def votes_of_store(path: str | Path, split: str = "train") -> Votes:
    """The votes table of a feature store's manifest (its labels; no array is read).

    Parameters
    ----------
    path : str or Path
        A feature store folder.
    split : {"train", "test", "all"}
        The rows to keep (default ``"train"``: what PDDS smooths).

    Returns
    -------
    Votes
        Source ``"store"``; synthetic when the store is.
    """
    store = FeatureStore.open(path, validate=False)
    frame = store.manifest.copy()
    if "reason" not in frame.columns:  # stores hold no reason: the category's own
        frame["reason"] = [NO_CELL_REASONS.get(c, "excluded by the vote policy" if c == "excluded" else "")
                           for c in frame["category"]]
    for col in ("major", "minor"):
        frame[col] = frame[col].where(frame[col].notna() & (frame[col] != ""), None)
    fixed = table_columns(store.classes)
    table = conform(frame[fixed + [c for c in ("session", "speaker") if c in frame.columns]], store.classes,
                    source=str(Path(path) / "manifest.csv"))
    table, label = split_rows(table, split, f"feature store {path} ({store.corpus})")
    return Votes("store", label, store.classes, table=table, synthetic=store.synthetic)


def open_any_votes(source: str, **options: Any) -> Votes:
    """:func:`pddslib.corpora.open_votes`, and :func:`votes_of_store` for ``source="store"``
    (what :func:`pddslib.corpora.source_from_flags` gives for ``--store``)."""
    if source == "store":
        return votes_of_store(**options)
    return open_votes(source, **options)
