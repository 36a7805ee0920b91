"""Which store rows a run trains on, validates on and is tested on (needs neither torch nor the store's arrays).

Two protocols (``pdds run --folds``):

* ``paper`` (the default, fold ``None``): the store's own ``split`` column. On IEMOCAP that is the
  paper's split: sessions 1-4 train, session 5 test.
* ``loso``: leave-one-session-out cross-validation. Fold ``k`` tests on the utterances of session
  ``k`` and trains on those of the other sessions; over the five folds every utterance is tested
  exactly once. The store must hold all five sessions (the manifest's ``session`` column). The
  ``split`` column is not used. Fold 5 trains and tests on the same rows as ``paper`` on an IEMOCAP
  store (and gives the same numbers), but is keyed as a fold in the run cache.

An optional validation split (``TrainConfig.val_fraction``) is then taken from the training rows:
within each consensus class, ``round(val_fraction x n_class)`` utterances (at most ``n_class - 1``)
drawn at random with the run's seed. They are held out of training and of resampling (PDDS
counts and mixes only the remaining rows), and early stopping watches their loss. Drawing by
utterance rather than by speaker keeps every class in both parts on IEMOCAP's eight training
speakers; a speaker of the validation rows also speaks in the training rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import LOSO_SESSIONS


@dataclass(frozen=True)
class RunSplit:
    """Store row indices (sorted) of one run: ``train`` (what the sampler sees), ``val``, ``test``."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _sessions(manifest: pd.DataFrame, where: str) -> np.ndarray:
    if "session" not in manifest.columns:
        raise ValueError(f"{where}: manifest.csv has no 'session' column; leave-one-session-out folds need one")
    sessions = pd.to_numeric(manifest["session"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(sessions).any():
        i = int(np.flatnonzero(np.isnan(sessions))[0])
        raise ValueError(f"{where}: manifest.csv row {i}: session {manifest['session'].iloc[i]!r} is not a number")
    return sessions.astype(np.int64)


def check_loso(manifest: pd.DataFrame, where: str) -> list[int]:
    """The folds of leave-one-session-out on a store: :data:`LOSO_SESSIONS`, when it holds them all.

    ``where`` names the store in the error.
    """
    held = sorted(set(_sessions(manifest, where).tolist()))
    missing = [s for s in LOSO_SESSIONS if s not in held]
    if missing:
        raise ValueError(f"{where}: leave-one-session-out needs sessions {', '.join(map(str, LOSO_SESSIONS))}; "
                         f"this store holds session(s) {', '.join(map(str, held))} (missing "
                         f"{', '.join(map(str, missing))})")
    return list(LOSO_SESSIONS)


def fold_rows(manifest: pd.DataFrame, fold: int | None, where: str = "the store") -> tuple[np.ndarray, np.ndarray]:
    """``(train rows, test rows)`` of a protocol: the ``split`` column (``fold=None``) or LOSO fold ``k``."""
    if fold is None:
        split = manifest["split"].to_numpy()
        return np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
    sessions = _sessions(manifest, where)
    test = sessions == int(fold)
    if not test.any():
        raise ValueError(f"{where}: fold {fold} tests on session {fold}, which this store does not hold "
                         f"(sessions {', '.join(map(str, sorted(set(sessions.tolist()))))})")
    return np.flatnonzero(~test), np.flatnonzero(test)


def validation_rows(train_rows: np.ndarray, labels: np.ndarray, fraction: float,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into ``(kept, validation)``, stratified by label, at random with ``seed``.

    Parameters
    ----------
    train_rows : numpy.ndarray of int
        Store rows.
    labels : numpy.ndarray of int
        The consensus class of each of ``train_rows``.
    fraction : float
        In [0, 1); 0 gives no validation rows.
    seed : int
        The run's seed (its own stream: the training order and mixup are not affected).
    """
    train_rows = np.asarray(train_rows)
    if fraction <= 0:
        return train_rows, train_rows[:0]
    rng = np.random.default_rng([int(seed), 2])
    labels = np.asarray(labels)
    val = []
    for c in np.unique(labels):
        members = train_rows[labels == c]
        n = min(int(round(fraction * len(members))), len(members) - 1)
        if n > 0:
            val.append(rng.permutation(members)[:n])
    val_rows = np.sort(np.concatenate(val)) if val else train_rows[:0]
    if len(val_rows) == 0:
        raise ValueError(f"val_fraction {fraction:g} holds out no training utterance "
                         f"({len(train_rows)} training rows); give a larger fraction")
    return np.setdiff1d(train_rows, val_rows), val_rows


def run_split(spec: Any, store: Any) -> RunSplit:
    """The rows of a run: its fold's train/test rows, then its validation rows taken from train.

    ``spec`` is a :class:`~pddslib.config.RunSpec` (``fold``, ``train.val_fraction``, ``seed``);
    ``store`` a :class:`~pddslib.features.store.FeatureStore`. With the defaults (no fold, no
    validation) ``train`` and ``test`` are the store's ``split_indices``.
    """
    train, test = fold_rows(store.manifest, spec.fold, str(store.path))
    if spec.fold is not None and len(train) == 0:
        raise ValueError(f"{store.path}: fold {spec.fold} leaves no training utterance (the store holds "
                         f"session {spec.fold} only)")
    labels = store.consensus_indices()[train]
    kept, val = validation_rows(train, labels, spec.train.val_fraction, spec.seed)
    return RunSplit(kept, val, test)


__all__ = ["RunSplit", "check_loso", "fold_rows", "run_split", "validation_rows"]
