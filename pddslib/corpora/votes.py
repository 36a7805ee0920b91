"""The votes table: one contract for every corpus, and the :class:`Votes` that serves it.

Every corpus reader (:func:`pddslib.corpora.iemocap.votes`, :func:`pddslib.corpora.crema_d.votes`,
:func:`pddslib.corpora.demo.votes`) returns one row per utterance with these columns first, in this
order and with these dtypes (:func:`conform` makes a reader's frame so, and checks it):

==============  =========  ===================================================================
``utt_id``      str        the utterance id, unique
``split``       str        ``train``, ``test`` or ``all`` (a corpus without a split)
``consensus``   str        the one-hot label: a class code, another corpus code (IEMOCAP's
                           ``sur``, ``oth``, ...) or ``xxx`` (:data:`NO_CONSENSUS`)
``category``    str        ``clear``, ``ambiguous``, ``tie``, ``other`` or ``excluded``
``major``       str        the class (clear) or the major emotion (ambiguous); missing otherwise
``minor``       str        the class (clear) or the minor emotion (ambiguous); missing otherwise
``reason``      str        why a tie, other or excluded row is in no (major, minor) cell; ``""``
                           for clear and ambiguous rows
``dist_<c>``    float64    the label distribution, one column per class, in class order: the
                           votes over the classes normalised (all zero only for an excluded row
                           without any vote in the classes)
==============  =========  ===================================================================

``str`` is pandas' string dtype (missing values are NaN). A reader may add its own columns after
these (IEMOCAP: ``session, dialog, speaker, gender, start, end, n_evaluators, votes_<c>...,
source``).

The packaged IEMOCAP counts and a ``pdds stats --json`` file have no rows: their :class:`Votes`
holds count tables per split instead, and answers :meth:`Votes.counts` (and, for the packaged
counts, :meth:`Votes.one_hot`) the same way. :func:`pddslib.corpora.open_votes` opens any source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
import pandas as pd

from ..pdds.counts import CountTable
from ..pdds.labels import Category
from ..util.errors import PddsError

#: The fixed columns of a votes table, before the ``dist_<class>`` columns.
VOTE_COLUMNS: tuple[str, ...] = ("utt_id", "split", "consensus", "category", "major", "minor", "reason")
#: The values of ``split``: ``all`` marks a corpus without a train/test split (CREMA-D).
SPLITS: tuple[str, ...] = ("train", "test", "all")
#: ``consensus`` of an utterance without a one-hot label (IEMOCAP's code).
NO_CONSENSUS = "xxx"
TEXT_DTYPE = "str"
_CATEGORIES: tuple[str, ...] = get_args(Category)


class VoteTableError(ValueError, PddsError):
    """A votes table breaks the contract (the message names the source and the row)."""


def dist_columns(classes: Sequence[str]) -> list[str]:
    """``dist_<class>`` for every class, in order."""
    return [f"dist_{c}" for c in classes]


def table_columns(classes: Sequence[str]) -> list[str]:
    """The fixed columns of a votes table over ``classes`` (:data:`VOTE_COLUMNS`, then ``dist_*``)."""
    return list(VOTE_COLUMNS) + dist_columns(classes)


def conform(frame: pd.DataFrame, classes: Sequence[str], *, source: str) -> pd.DataFrame:
    """Put a reader's frame into the contract: fixed columns first, fixed dtypes, then checked.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per utterance with at least :func:`table_columns`; missing ``major``/``minor``
        may be None or NaN. Other columns are kept, after the fixed ones, in their order.
    classes : sequence of str
        The class codes of the ``dist_*`` columns.
    source : str
        What produced the frame (for error messages).

    Returns
    -------
    pandas.DataFrame
        A new frame with a fresh index.

    Raises
    ------
    VoteTableError
        When a column is missing or a row breaks the contract (see :func:`check`).
    """
    fixed = table_columns(classes)
    missing = [c for c in fixed if c not in frame.columns]
    if missing:
        raise VoteTableError(f"{source}: votes table lacks column(s) {missing}")
    out = frame[fixed + [c for c in frame.columns if c not in fixed]].reset_index(drop=True)
    for col in VOTE_COLUMNS:  # all text
        out[col] = out[col].astype(TEXT_DTYPE)
    for col in dist_columns(classes):
        out[col] = out[col].astype(np.float64)
    check(out, classes, source=source)
    return out


def check(table: pd.DataFrame, classes: Sequence[str], *, source: str) -> None:
    """Check that a votes table keeps the contract (see the module docstring).

    Raises
    ------
    VoteTableError
        Naming ``source``, the first offending row and its ``utt_id``, and what was expected.
    """
    fixed = table_columns(classes)
    if list(table.columns[: len(fixed)]) != fixed:
        raise VoteTableError(f"{source}: the first columns are {list(table.columns[:len(fixed)])}, expected {fixed}")
    for col in VOTE_COLUMNS:  # all text
        if not isinstance(table[col].dtype, pd.StringDtype):
            raise VoteTableError(f"{source}: column {col!r} has dtype {table[col].dtype}, expected {TEXT_DTYPE}")
    for col in dist_columns(classes):
        if table[col].dtype != np.float64:
            raise VoteTableError(f"{source}: column {col!r} has dtype {table[col].dtype}, expected float64")

    def fail(bad: np.ndarray | pd.Series, what: str) -> None:
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise VoteTableError(f"{source}: row {i} ({table['utt_id'].iloc[i]!r}): {what}")

    fail(table["utt_id"].isna() | (table["utt_id"] == ""), "empty utt_id")
    fail(table["utt_id"].duplicated(), "utt_id appears more than once")
    fail(~table["split"].isin(SPLITS), f"split {_first(table, 'split', SPLITS)!r} is not one of {list(SPLITS)}")
    fail(table["consensus"].isna() | (table["consensus"] == ""), "empty consensus (use 'xxx' for none)")
    cat = table["category"]
    fail(~cat.isin(_CATEGORIES),
         f"category {_first(table, 'category', _CATEGORIES)!r} is not one of {list(_CATEGORIES)}")
    in_cell = cat.isin(["clear", "ambiguous"]).to_numpy()
    major, minor = table["major"], table["minor"]
    fail(in_cell & ~(major.isin(classes) & minor.isin(classes)).to_numpy(),
         f"a clear or ambiguous row needs major and minor among {list(classes)}")
    fail(~in_cell & (major.notna() | minor.notna()).to_numpy(),
         "major and minor must be missing outside clear and ambiguous rows")
    fail((cat == "clear") & (major != minor), "a clear row needs major == minor")
    fail((cat == "ambiguous") & (major == minor), "an ambiguous row needs major != minor")
    reason = table["reason"].fillna("")
    fail(in_cell & (reason != "").to_numpy(), "a clear or ambiguous row has a reason (expected '')")
    fail(~in_cell & (reason == "").to_numpy(), "a tie, other or excluded row needs a reason")
    _check_distributions(table, classes, fail)


def _check_distributions(table: pd.DataFrame, classes: Sequence[str], fail) -> None:
    dist = table[dist_columns(classes)].to_numpy()
    fail(~np.isfinite(dist).all(1) | (dist < 0).any(1), "dist_* has a negative or non-finite value")
    total = dist.sum(1)
    empty = total == 0
    fail(~empty & (np.abs(total - 1) > 1e-6), "dist_* sums neither to 1 nor to 0")
    fail(empty & (table["category"] != "excluded").to_numpy(), "dist_* is all zero, which only an excluded row may be")
    index = {c: k for k, c in enumerate(classes)}
    in_cell = table["category"].isin(["clear", "ambiguous"]).to_numpy()
    rows = np.flatnonzero(in_cell)
    if len(rows):
        a = table["major"].to_numpy()[rows]
        b = table["minor"].to_numpy()[rows]
        ia = np.array([index[x] for x in a])
        ib = np.array([index[x] for x in b])
        named = (dist[rows] > 0).sum(1)
        ok = np.where(ia == ib, dist[rows, ia] == 1,
                      (named == 2) & (dist[rows, ia] > dist[rows, ib]) & (dist[rows, ib] > 0))
        bad = np.zeros(len(table), dtype=bool)
        bad[rows] = ~ok
        fail(bad, "dist_* does not match the category (clear: one-hot on major; ambiguous: "
                  "two classes, major above minor)")


def _first(table: pd.DataFrame, col: str, allowed: Sequence[str]) -> object:
    bad = ~table[col].isin(allowed)
    return table[col][bad].iloc[0] if bad.any() else None


def table_counts(table: pd.DataFrame, classes: Sequence[str]) -> CountTable:
    """The count table of a votes table (what ``pdds stats`` prints); excluded rows by reason."""
    return CountTable.from_cells(table["category"], table["major"], table["minor"], classes,
                                 reasons=table["reason"])


def table_one_hot(table: pd.DataFrame, classes: Sequence[str]) -> dict[str, int]:
    """Utterances per one-hot (consensus) label, for every class (zeros too)."""
    vc = table["consensus"].value_counts()
    return {c: int(vc.get(c, 0)) for c in classes}


def split_rows(table: pd.DataFrame, split: str, label: str) -> tuple[pd.DataFrame, str]:
    """The rows of ``split`` (``"all"``: every row) and ``label`` saying which split it is."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if split == "all":
        return table, label
    return table[table["split"] == split].reset_index(drop=True), f"{label}, {split} split"


@dataclass(frozen=True, eq=False)
class Votes:
    """The votes of one source: a votes table, or count tables per split for aggregate sources.

    Build it with :func:`pddslib.corpora.open_votes`.

    Attributes
    ----------
    source : str
        ``iemocap``, ``crema-d``, ``demo``, ``reference`` or ``counts``.
    label : str
        A readable description, e.g. ``"IEMOCAP sessions 1,2,3,4 (packaged counts)"``.
    classes : tuple of str
        The class codes, in order.
    table : pandas.DataFrame or None
        The votes table (see the module docstring); None for an aggregate source.
    aggregate : mapping of str -> CountTable, or None
        An aggregate source's count table per split.
    aggregate_one_hot : mapping of str -> {class: int}, or None
        An aggregate source's one-hot label sizes per split, where it has them.
    synthetic : bool
        True for the generated demo corpus.
    """

    source: str
    label: str
    classes: tuple[str, ...]
    table: pd.DataFrame | None = None
    aggregate: Mapping[str, CountTable] | None = None
    aggregate_one_hot: Mapping[str, Mapping[str, int]] | None = None
    synthetic: bool = False

    def __post_init__(self) -> None:
        if (self.table is None) == (self.aggregate is None):
            raise ValueError("Votes needs exactly one of table and aggregate")

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits present, in the order of :data:`SPLITS`."""
        have = set(self.table["split"]) if self.table is not None else set(self.aggregate)
        return tuple(s for s in SPLITS if s in have)

    def _check_split(self, split: str | None) -> None:
        if split not in (None, "all") and split not in self.splits:
            raise ValueError(f"{self.label}: no {split!r} split here (splits: {list(self.splits)}; "
                             f"None or 'all' means every utterance)")

    def _rows(self, split: str | None) -> pd.DataFrame:
        """The table's rows of ``split`` (every row for None or ``"all"``)."""
        return self.table if split in (None, "all") else self.table[self.table["split"] == split]

    def counts(self, split: str | None = None) -> CountTable:
        """Clear/ambiguous counts of one split, or of everything (None or ``"all"``).

        Raises
        ------
        ValueError
            For a split this source does not have.
        """
        self._check_split(split)
        if self.table is not None:
            return table_counts(self._rows(split), self.classes)
        if split in self.aggregate:
            return self.aggregate[split]
        parts = list(self.aggregate.values())
        return parts[0] if len(parts) == 1 else sum(parts[1:], parts[0])

    def one_hot(self, split: str | None = None) -> dict[str, int]:
        """Utterances per one-hot (consensus) label of one split, or of everything.

        Raises
        ------
        ValueError
            For a split this source does not have, or a source without consensus labels (a
            counts file).
        """
        self._check_split(split)
        if self.table is not None:
            return table_one_hot(self._rows(split), self.classes)
        if self.aggregate_one_hot is None:
            raise ValueError(f"{self.label}: holds no consensus (one-hot) labels")
        if split in self.aggregate_one_hot:
            return dict(self.aggregate_one_hot[split])
        return {c: sum(int(p.get(c, 0)) for p in self.aggregate_one_hot.values()) for c in self.classes}
