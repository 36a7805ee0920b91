"""Any corpus from a manifest: a CSV with one row per utterance.

Columns (the header names them; any order; other columns are ignored)
----------------------------------------------------------------------
==================  ========  ==============================================================
``path``            required  the audio file (wav, flac, ... any format soundfile reads). A
                              relative path resolves against the CSV's folder and must stay
                              inside it; an absolute path is taken as it is
``votes_<class>``   labels    vote counts per class (whole numbers >= 0), one column per class
``dist_<class>``    labels    a label distribution per class (numbers >= 0 summing to 1)
``label``           labels    a hard label (a class code); with votes or distributions, the
                              test label (else the class with the most votes)
``utt_id``          optional  a unique id (default: the file name without its extension)
``text``            optional  the transcript: the store then also holds text features
``split``           optional  ``train`` or ``test`` (default: a fixed hash of the speaker, or of
                              the utterance without a speaker, puts about 20 % in ``test``)
``speaker``         optional  speaker id (default empty)
``session``,        optional  copied into the store (defaults 0 and empty)
``dialog``,
``gender``
==================  ========  ==============================================================

Labels: exactly one of ``votes_<class>`` columns and ``dist_<class>`` columns, or a ``label``
column alone. The classes are the ``<class>`` suffixes in header order; with ``label`` alone,
the distinct labels in sorted order (or ``classes=`` given). Clear and ambiguous rows follow the
agreement rule (:func:`pddslib.pdds.labels.agreement_cells`, default 1: every vote agrees, the
paper's rule); a hard label is a clear row of its class. An utterance whose test label is not
unique (two classes share the most votes) has no consensus (``xxx``) and is left out of a
feature store (counted).

Every error is one line naming the CSV, the line (the header is line 1) and the column:
:class:`~pddslib.corpora.errors.CorpusFormatError`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..pdds.labels import agreement_cells, check_agreement
from .errors import CorpusFormatError
from .votes import NO_CONSENSUS, conform

#: The columns a manifest may have besides the label columns.
COLUMNS: tuple[str, ...] = ("path", "utt_id", "text", "split", "speaker", "session", "dialog", "gender", "label")
#: Fraction of speakers (or utterances) in ``test`` when the manifest has no ``split`` column.
TEST_FRACTION = 0.2
LABEL_KINDS = ("votes", "distribution", "label")


@dataclass
class Manifest:
    """A parsed manifest.

    Attributes
    ----------
    path : Path
        The CSV.
    classes : tuple of str
    labels : {"votes", "distribution", "label"}
        Which label columns it has.
    table : pandas.DataFrame
        The votes table (:mod:`pddslib.corpora.votes`) of every row, then ``session, dialog, speaker,
        gender``, ``votes_<class>`` (votes manifests), ``audio_path`` (resolved), ``text`` (when
        the manifest has it) and ``line`` (the CSV line).
    has_text : bool
    split_given : bool
        Whether the CSV has a ``split`` column (else the hash rule decided).
    agreement : float
    """

    path: Path
    classes: tuple[str, ...]
    labels: str
    table: pd.DataFrame
    has_text: bool
    split_given: bool
    agreement: float

    @property
    def with_consensus(self) -> pd.DataFrame:
        """The rows with a test label among the classes (what a feature store holds)."""
        return self.table[self.table["consensus"].isin(self.classes)].reset_index(drop=True)


def hash_split(key: str, test_fraction: float = TEST_FRACTION) -> str:
    """``test`` for about ``test_fraction`` of keys, ``train`` for the others (fixed: a SHA-256 of the key)."""
    h = int(hashlib.sha256(str(key).encode()).hexdigest()[:8], 16) / 2**32
    return "test" if h < test_fraction else "train"


def _fail(path: Path, line: int | None, column: str | None, what: str) -> CorpusFormatError:
    return CorpusFormatError(path, line, (f"column {column!r}: " if column else "") + what)


def _label_columns(path: Path, header: Sequence[str]) -> tuple[str, list[str]]:
    votes = [c[len("votes_"):] for c in header if c.startswith("votes_")]
    dists = [c[len("dist_"):] for c in header if c.startswith("dist_")]
    if votes and dists:
        raise _fail(path, 1, None, "has both votes_<class> and dist_<class> columns; give one kind of labels")
    found = votes or dists
    for c in found:
        if not c or not all(ch.isalnum() or ch in "_-" for ch in c):
            raise _fail(path, 1, ("votes_" if votes else "dist_") + c,
                        "a class code must be letters, digits, '_' or '-' (e.g. votes_ang)")
    if votes:
        kind = "votes"
    elif dists:
        kind = "distribution"
    elif "label" in header:
        kind = "label"
    else:
        raise _fail(path, 1, None, "no label columns; expected votes_<class> columns, dist_<class> columns "
                                   "or a label column (see the 'Your own corpus' page)")
    if kind != "label" and len(found) < 2:
        raise _fail(path, 1, None, f"only one class ({found[0]}); a corpus needs at least two")
    return kind, found


def _numbers(raw: pd.DataFrame, cols: list[str], path: Path, whole: bool) -> np.ndarray:
    out = np.zeros((len(raw), len(cols)))
    for k, col in enumerate(cols):
        text = raw[col].str.strip()
        vals = pd.to_numeric(text, errors="coerce")
        bad = vals.isna() | (vals < 0) | ~np.isfinite(vals.fillna(0))
        if whole:
            bad |= vals.fillna(0) != vals.fillna(0).round()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            expected = "a whole number of votes >= 0" if whole else "a number >= 0"
            raise _fail(path, i + 2, col, f"{raw[col].iloc[i]!r} is not {expected}")
        out[:, k] = vals.to_numpy(dtype=float)
    return out


def _resolve_audio(path: Path, raw: pd.DataFrame, check_audio: bool) -> list[str]:
    folder = path.parent.resolve()
    out, missing = [], []
    for i, value in enumerate(raw["path"]):
        value = value.strip()
        if not value:
            raise _fail(path, i + 2, "path", "empty; expected the audio file of the utterance")
        p = Path(value).expanduser()
        if not p.is_absolute():
            p = Path(os.path.normpath(folder / p))
            if p != folder and folder not in p.parents:
                raise _fail(path, i + 2, "path", f"{value!r} lies outside the CSV's folder {folder}; a relative "
                                                 f"path must stay inside it (give an absolute path instead)")
        if check_audio and not p.is_file():
            missing.append((i, value, p))
        out.append(str(p))
    if missing:
        i, value, p = missing[0]
        more = f" (and {len(missing) - 1} more row(s) whose audio is missing)" if len(missing) > 1 else ""
        raise _fail(path, i + 2, "path", f"{value!r}: no such file ({p}){more}")
    return out


def read(path: str | Path, *, agreement: float = 1.0, classes: Sequence[str] | None = None,
         check_audio: bool = True) -> Manifest:
    """Parse and check a manifest CSV (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The CSV.
    agreement : float
        The clear-sample rule's threshold in (0.5, 1] (1: every vote agrees).
    classes : sequence of str, optional
        The classes of a ``label``-only manifest, in order (default: the distinct labels,
        sorted). With votes or distributions the header decides; a different list is an error.
    check_audio : bool
        Check that every audio file exists (``pdds stats`` does not need the audio).

    Raises
    ------
    CorpusFormatError
        ``CSV:LINE: column 'NAME': ...`` for the first problem found.
    FileNotFoundError
        When the CSV does not exist.
    """
    path = Path(path)
    agreement = check_agreement(agreement)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: manifest not found (expected a CSV with one row per utterance)")
    raw = _read_csv(path)
    kind, found = _label_columns(path, list(raw.columns))
    if raw.empty:
        raise _fail(path, 1, None, "a header but no rows; expected one row per utterance")
    cls, values = _label_values(path, raw, kind, found, classes)
    consensus = _consensus(path, raw, kind, values, cls)
    audio = _resolve_audio(path, raw, check_audio)
    utt = _utterance_ids(path, raw, audio)
    speaker, split, session = _speaker_split_session(path, raw, utt)
    frame = _frame(raw, kind, values, cls, agreement, utt, split, consensus, session, speaker, audio)
    has_text = "text" in raw.columns
    table = conform(frame, cls, source=str(path))
    return Manifest(path, cls, kind, table, has_text, "split" in raw.columns, agreement)


def _read_csv(path: Path) -> pd.DataFrame:
    """The manifest's rows as strings, with a header that has no duplicates and a ``path`` column."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise _fail(path, None, None, "empty file; expected a header (path, labels, ...) and one row per utterance") \
            from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise _fail(path, None, None, f"not a readable CSV ({' '.join(str(err).split())})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    dup = pd.Index(raw.columns)[pd.Index(raw.columns).duplicated()]
    if len(dup):
        raise _fail(path, 1, dup[0], "appears twice in the header")
    if "path" not in raw.columns:
        raise _fail(path, 1, "path", "missing; expected a 'path' column holding each utterance's audio file")
    return raw


def _label_values(path: Path, raw: pd.DataFrame, kind: str, found: list[str],
                  classes: Sequence[str] | None) -> tuple[tuple[str, ...], np.ndarray]:
    """The classes and the ``(N, C)`` votes, distributions or one-hot labels of the rows."""
    if kind == "label":
        labels = raw["label"].str.strip()
        empty = np.flatnonzero((labels == "").to_numpy())
        if len(empty):
            raise _fail(path, int(empty[0]) + 2, "label", "empty; expected a class code")
        cls = tuple(classes) if classes is not None else tuple(sorted(set(labels)))
        index = {c: k for k, c in enumerate(cls)}
        unknown = np.flatnonzero(~labels.isin(cls).to_numpy())
        if len(unknown):
            i = int(unknown[0])
            raise _fail(path, i + 2, "label", f"{labels.iloc[i]!r} is not one of the classes {list(cls)}")
        if len(cls) < 2:
            raise _fail(path, None, "label", f"only one class ({cls[0]}); a corpus needs at least two")
        values = np.zeros((len(raw), len(cls)))
        values[np.arange(len(raw)), [index[x] for x in labels]] = 1.0
    else:
        cls = tuple(found)
        if classes is not None and tuple(classes) != cls:
            raise _fail(path, 1, None, f"its classes are {list(cls)} (from the header), not {list(classes)}")
        cols = [f"{'votes' if kind == 'votes' else 'dist'}_{c}" for c in cls]
        values = _numbers(raw, cols, path, whole=kind == "votes")
        if kind == "distribution":
            off = np.flatnonzero(np.abs(values.sum(1) - 1) > 1e-4)
            if len(off):
                i = int(off[0])
                raise _fail(path, i + 2, ",".join(cols), f"the distribution sums to {values[i].sum():.6g}, expected 1")
        else:
            none = np.flatnonzero(values.sum(1) == 0)
            if len(none):
                raise _fail(path, int(none[0]) + 2, ",".join(cols), "no votes; every row needs at least one")

    return cls, values


def _consensus(path: Path, raw: pd.DataFrame, kind: str, values: np.ndarray, cls: tuple[str, ...]) -> pd.Series:
    """The test label of every row: its ``label``, else the plurality of its votes."""
    # the test label
    if "label" in raw.columns:
        consensus = raw["label"].str.strip()
        if kind != "label":
            bad = np.flatnonzero(~consensus.isin(list(cls) + [""]).to_numpy())
            if len(bad):
                i = int(bad[0])
                raise _fail(path, i + 2, "label", f"{consensus.iloc[i]!r} is not one of the classes {list(cls)}")
            plural = _plurality(values, cls)
            consensus = pd.Series(np.where(consensus == "", plural, consensus))
    else:
        consensus = pd.Series(_plurality(values, cls))

    return consensus


def _utterance_ids(path: Path, raw: pd.DataFrame, audio: Sequence[str]) -> pd.Series:
    """Unique utterance ids (``utt_id``, or the audio file's name)."""
    utt = raw["utt_id"].str.strip() if "utt_id" in raw.columns else pd.Series([Path(p).stem for p in audio])
    for i in np.flatnonzero((utt == "").to_numpy()):
        raise _fail(path, int(i) + 2, "utt_id", "empty; expected a unique id")
    dup = np.flatnonzero(utt.duplicated().to_numpy())
    if len(dup):
        i = int(dup[0])
        first = int(np.flatnonzero((utt == utt.iloc[i]).to_numpy())[0])
        col = "utt_id" if "utt_id" in raw.columns else "path"
        hint = "" if "utt_id" in raw.columns else " (the default id is the file name; add a unique utt_id column)"
        raise _fail(path, i + 2, col, f"utterance id {utt.iloc[i]!r} repeats line {first + 2}{hint}")

    return utt


def _speaker_split_session(path: Path, raw: pd.DataFrame, utt: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Speakers, train/test split (given, or a hash of the speaker) and whole-number sessions."""
    speaker = raw["speaker"].str.strip() if "speaker" in raw.columns else pd.Series([""] * len(raw))
    if "split" in raw.columns:
        split = raw["split"].str.strip()
        bad = np.flatnonzero(~split.isin(["train", "test"]).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise _fail(path, i + 2, "split", f"{split.iloc[i]!r}, expected 'train' or 'test'")
    else:
        split = pd.Series([hash_split(s if s else u) for s, u in zip(speaker, utt)])
    session = raw["session"].str.strip() if "session" in raw.columns else pd.Series(["0"] * len(raw))
    if "session" in raw.columns:
        nums = pd.to_numeric(session, errors="coerce")
        bad = np.flatnonzero((nums.isna() | (nums != nums.round())).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise _fail(path, i + 2, "session", f"{session.iloc[i]!r} is not a whole number")

    return speaker, split, session


def _frame(raw: pd.DataFrame, kind: str, values: np.ndarray, cls: tuple[str, ...], agreement: float,
           utt: pd.Series, split: pd.Series, consensus: pd.Series, session: pd.Series, speaker: pd.Series,
           audio: Sequence[str]) -> pd.DataFrame:
    """The votes table's columns for these rows (before :func:`conform` checks them)."""
    cells = agreement_cells(values, agreement)
    frame = pd.DataFrame({
        "utt_id": utt.to_numpy(), "split": split.to_numpy(), "consensus": consensus.to_numpy(),
        "category": cells.category,
        "major": [cls[k] if k >= 0 else None for k in cells.major],
        "minor": [cls[k] if k >= 0 else None for k in cells.minor],
        "reason": cells.reason,
        **{f"dist_{c}": cells.distribution[:, k] for k, c in enumerate(cls)},
        "session": pd.to_numeric(session).astype(np.int64).to_numpy(),
        "dialog": (raw["dialog"].str.strip() if "dialog" in raw.columns else pd.Series([""] * len(raw))).to_numpy(),
        "speaker": speaker.to_numpy(),
        "gender": (raw["gender"].str.strip() if "gender" in raw.columns else pd.Series([""] * len(raw))).to_numpy(),
    })
    if kind == "votes":
        for k, c in enumerate(cls):
            frame[f"votes_{c}"] = values[:, k].astype(np.int64)
        frame["n_votes"] = values.sum(1).astype(np.int64)
    frame["audio_path"] = audio
    if "text" in raw.columns:
        frame["text"] = raw["text"].to_numpy()
    frame["line"] = np.arange(len(raw)) + 2
    return frame


def _plurality(values: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """The class with the most votes (the largest share), ``xxx`` where several share it."""
    top = values.max(1, keepdims=True)
    unique = (np.isclose(values, top, rtol=0, atol=1e-9)).sum(1) == 1
    return np.where(unique, np.array(classes, dtype=object)[values.argmax(1)], NO_CONSENSUS)


def votes(path: str | Path, *, agreement: float = 1.0, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """The votes table of a manifest (no audio needed): ``open_votes("manifest", path=...)``."""
    return read(path, agreement=agreement, classes=classes, check_audio=False).table
