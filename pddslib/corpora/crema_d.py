"""CREMA-D crowd votes (``processedResults/tabulatedVotes.csv``), openly licensed.

Each row holds the vote counts of one clip in one rating modality; the row id is
``100000 * modality + clip`` with modality 1 = voice only, 2 = face only, 3 = audio-visual.
Columns ``A, D, F, H, N, S`` count votes for anger, disgust, fear, happy, neutral and sad. Each
crowd rater gives one emotion, so the votes of a clip go straight into the same categories as
IEMOCAP's (clear, ambiguous with a strict majority, tie, more than two emotions). :func:`votes`
returns them as a votes table (:mod:`pddslib.votes`); a clip's one-hot label is the emotion with
the most votes, ``xxx`` on a tie (:func:`consensus`, the same as CREMA-D's own ``emoVote``).

Cite: Cao et al., "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset", IEEE Trans.
Affective Computing 5(4), 2014. Data: Open Database License 1.0 / Database Contents License 1.0.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from ..counts import CountTable
from ..labels import NO_CELL_REASONS, categorize
from ..votes import NO_CONSENSUS, conform, table_counts
from .errors import CorpusFormatError

#: CREMA-D's six emotions, in the order of its columns A, D, F, H, N, S.
CLASSES: tuple[str, ...] = ("ang", "dis", "fea", "hap", "neu", "sad")
COLUMNS: tuple[str, ...] = ("A", "D", "F", "H", "N", "S")
MODALITIES: dict[str, int] = {"voice": 1, "face": 2, "audiovisual": 3}

COMMIT = "1658cd342dff90010aa843eaeebd53610a08b1dc"
URL = (f"https://raw.githubusercontent.com/CheyneyComputerScience/CREMA-D/{COMMIT}/"
       "processedResults/tabulatedVotes.csv")
SHA256 = "774d9d759cb5caf2542758a39eca8c0f1d2777f9987ff5d5adf8066d192f377b"


def default_cache_dir() -> Path:
    """``$PDDS_CACHE`` or ``~/.cache/pddslib`` (:func:`pddslib.cache.cache_root`)."""
    from ..cache import cache_root

    return cache_root()


def download(cache_dir: str | Path | None = None, url: str = URL, sha256: str | None = SHA256,
             force: bool = False) -> Path:
    """Download ``tabulatedVotes.csv`` from the public CREMA-D repository, with a local cache.

    The file is fetched once (written atomically) and checked against its SHA-256.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where to keep it (default :func:`default_cache_dir`).
    url : str
        Source (default: the pinned commit of CheyneyComputerScience/CREMA-D).
    sha256 : str or None
        Expected checksum; None skips the check.
    force : bool
        Download again even when cached.

    Returns
    -------
    Path
        The cached file.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / "crema-d" / "tabulatedVotes.csv"
    if target.is_file() and not force:
        if sha256 is None or _sha256(target) == sha256:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        if sha256 is not None and (got := _sha256(Path(tmp))) != sha256:
            raise OSError(f"{url}: checksum {got} differs from the expected {sha256}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def resolve(path: str | Path) -> Path:
    """``tabulatedVotes.csv`` from a file path, a folder holding it, or ``"download"``."""
    if str(path) == "download":
        return download()
    p = Path(path)
    if p.is_dir():
        p = p / "tabulatedVotes.csv"
    if not p.is_file():
        raise FileNotFoundError(f"{p}: CREMA-D tabulatedVotes.csv not found (give the file, its "
                                f"folder, or 'download' to fetch it from the public repository)")
    return p


def votes(path: str | Path = "download", modality: str = "voice") -> pd.DataFrame:
    """The votes table of one rating modality (the contract of :mod:`pddslib.votes`).

    Parameters
    ----------
    path : str or Path
        ``tabulatedVotes.csv``, its folder, or ``"download"``.
    modality : {"voice", "face", "audiovisual"}
        Voice-only rows by default (the ones that matter for speech emotion recognition).

    Returns
    -------
    pandas.DataFrame
        The fixed columns, then ``clip, votes_<c>..., n_votes``. ``utt_id`` is the clip's file
        name (``1001_IEO_NEU_XX``); ``split`` is ``all`` (CREMA-D has no official split);
        ``consensus`` is :func:`consensus` of the votes.

    Raises
    ------
    CorpusFormatError
        Naming the file (and the line) when a column is missing, a count is not a non-negative
        integer, the counts do not add up to ``numResponses``, a row id repeats, or the file
        holds no row of ``modality``.
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {sorted(MODALITIES)}, got {modality!r}")
    p = resolve(path)
    raw = _read_table(p)
    counts = raw[list(COLUMNS)].to_numpy()
    mine = ((raw["row_id"] // 100000) == MODALITIES[modality]).to_numpy()
    if not mine.any():
        raise CorpusFormatError(p, None, f"no row of modality {modality!r} (row ids {MODALITIES[modality]}xxxxx); "
                                         f"expected the full CREMA-D tabulatedVotes.csv")
    raw, counts = raw[mine], counts[mine]
    _check_unique(raw, "fileName", p)
    rows = []
    for clip, name, v, cons in zip(raw["row_id"] % 100000, raw["fileName"], counts, consensus(counts)):
        cat, a, b = categorize(v)
        total = v.sum()
        rows.append({
            "utt_id": name, "split": "all", "consensus": cons, "category": cat,
            "major": None if a is None else CLASSES[a], "minor": None if b is None else CLASSES[b],
            "reason": "no votes" if cat == "excluded" else NO_CELL_REASONS.get(cat, ""),
            **{f"dist_{c}": (float(x) / total if total else 0.0) for c, x in zip(CLASSES, v)},
            "clip": int(clip), **{f"votes_{c}": int(x) for c, x in zip(CLASSES, v)}, "n_votes": int(total),
        })
    return conform(pd.DataFrame(rows), CLASSES, source=f"{p} ({modality})")


def consensus(counts: np.ndarray) -> np.ndarray:
    """The one-hot label of each clip: the emotion with the most votes, ``xxx`` on a tie.

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (N, 6)
        Votes per clip in the order of :data:`CLASSES`.

    Returns
    -------
    numpy.ndarray of str, shape (N,)
        A class code, or :data:`~pddslib.votes.NO_CONSENSUS` when two or more emotions share
        the most votes (CREMA-D's ``emoVote`` then lists them, e.g. ``N:S``).
    """
    counts = np.asarray(counts)
    unique = (counts == counts.max(1, keepdims=True)).sum(1) == 1
    return np.where(unique, np.array(CLASSES)[counts.argmax(1)], NO_CONSENSUS)


def _read_table(p: Path) -> pd.DataFrame:
    """The rows of ``tabulatedVotes.csv``, with ``row_id`` and the counts checked as integers."""
    try:
        raw = pd.read_csv(p, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise CorpusFormatError(p, None, "empty file; expected the CREMA-D tabulatedVotes.csv header and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CorpusFormatError(p, None, f"not a CSV table ({' '.join(str(err).split())})") from None
    raw = raw.rename(columns={raw.columns[0]: "row_id"})
    missing = sorted({"row_id", "fileName", "numResponses", *COLUMNS} - set(raw.columns))
    if missing:
        raise CorpusFormatError(p, 1, f"missing column(s) {missing}; expected the CREMA-D tabulatedVotes.csv header")
    if raw.empty:
        raise CorpusFormatError(p, 1, "a header but no vote rows; expected one row per clip and rating modality")
    for col in ("row_id", "numResponses", *COLUMNS):
        vals = pd.to_numeric(raw[col], errors="coerce")
        bad = vals.isna() | (vals < 0) | (vals != vals.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CorpusFormatError(p, i + 2, f"column {col!r}: {raw[col].iloc[i]!r} is not a non-negative integer")
        raw[col] = vals.astype(np.int64)
    counts = raw[list(COLUMNS)].to_numpy()
    off = np.flatnonzero(counts.sum(1) != raw["numResponses"].to_numpy())
    if len(off):
        i = int(off[0])
        raise CorpusFormatError(p, i + 2, f"votes sum to {counts[i].sum()} but numResponses is {raw['numResponses'].iloc[i]}")
    _check_unique(raw, "row_id", p)
    return raw


def _check_unique(raw: pd.DataFrame, col: str, p: Path) -> None:
    """A missing or repeated value of ``col`` is an error naming both lines (index + 2)."""
    empty = np.flatnonzero(raw[col].isna().to_numpy() | (raw[col].astype(str).str.strip() == "").to_numpy())
    if len(empty):
        raise CorpusFormatError(p, int(raw.index[empty[0]]) + 2, f"column {col!r} is empty")
    dup = np.flatnonzero(raw[col].duplicated().to_numpy())
    if len(dup):
        value = raw[col].iloc[dup[0]]
        first = int(raw.index[np.flatnonzero((raw[col] == value).to_numpy())[0]]) + 2
        shown = value.item() if isinstance(value, np.generic) else value
        raise CorpusFormatError(p, int(raw.index[dup[0]]) + 2, f"{col} {shown!r} repeats line {first}")


def stats(path: str | Path = "download", modality: str = "voice") -> CountTable:
    """Clear/ambiguous statistics of CREMA-D over its six classes (``pdds stats --crema-d``).

    The same as ``open_votes("crema-d", path=path, modality=modality).counts()``.
    """
    return table_counts(votes(path, modality), CLASSES)
