"""CREMA-D crowd votes (``processedResults/tabulatedVotes.csv``), openly licensed.

Each row holds the vote counts of one clip in one rating modality; the row id is
``100000 * modality + clip`` with modality 1 = voice only, 2 = face only, 3 = audio-visual.
Columns ``A, D, F, H, N, S`` count votes for anger, disgust, fear, happy, neutral and sad. Each
crowd rater gives one emotion, so the votes of a clip go straight into the same categories as
IEMOCAP's (clear, ambiguous, tie, other). :func:`votes` returns them as a votes table
(:mod:`pddslib.corpora.votes`); a clip's one-hot label is the emotion with the most votes, ``xxx`` on a tie
(:func:`consensus`, the same as CREMA-D's own ``emoVote``).

The clear-sample rule
---------------------
About nine crowd raters vote on each clip, so "every rater agrees" (IEMOCAP's rule, three
evaluators) leaves 383 clear clips of 7,442 (disgust: 2). CREMA-D's rule is an agreement
threshold (:func:`pddslib.pdds.labels.agreement_cells`): a clip is clear when its top emotion holds
at least :data:`DEFAULT_AGREEMENT` of the votes, ambiguous when the top two together do (and
neither place is shared). ``agreement=1`` gives the unanimous rule. The default is justified on the
book's Decisions page (``tests/test_crema_d.py`` computes the numbers it states).

The speaker-independent split
-----------------------------
CREMA-D has no official split. :func:`split_of_actor`: the 91 actors 1001-1091 by id, the first
64 (1001-1064, 70 %) train and the last 27 (1065-1091) test, fixed. The votes table keeps
``split = "all"`` (statistics of the whole corpus); feature stores use this split.

Cite: Cao et al., "CREMA-D: Crowd-sourced Emotional Multimodal Actors Dataset", IEEE Trans.
Affective Computing 5(4), 2014. Data: Open Database License 1.0 / Database Contents License 1.0.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import DEFAULT_AGREEMENT  # the default lives in config; read here too
from ..pdds.counts import CountTable
from ..pdds.labels import agreement_cells
from ..util.hashing import file_hash
from .errors import CorpusFormatError
from .votes import NO_CONSENSUS, conform, table_counts

#: CREMA-D's six emotions, in the order of its columns A, D, F, H, N, S.
CLASSES: tuple[str, ...] = ("ang", "dis", "fea", "hap", "neu", "sad")
COLUMNS: tuple[str, ...] = ("A", "D", "F", "H", "N", "S")
MODALITIES: dict[str, int] = {"voice": 1, "face": 2, "audiovisual": 3}
#: The actors, and the fixed speaker-independent split: 1001-1064 train, 1065-1091 test.
ACTORS: tuple[int, ...] = tuple(range(1001, 1092))
FIRST_TEST_ACTOR = 1065

COMMIT = "1658cd342dff90010aa843eaeebd53610a08b1dc"
URL = (f"https://raw.githubusercontent.com/CheyneyComputerScience/CREMA-D/{COMMIT}/"
       "processedResults/tabulatedVotes.csv")
SHA256 = "774d9d759cb5caf2542758a39eca8c0f1d2777f9987ff5d5adf8066d192f377b"


def default_cache_dir() -> Path:
    """``$PDDS_CACHE`` or ``~/.cache/pddslib`` (:func:`pddslib.util.locations.cache_root`)."""
    from ..util.locations import cache_root

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
        if sha256 is None or file_hash(target) == sha256:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        if sha256 is not None and (got := file_hash(Path(tmp))) != sha256:
            raise OSError(f"{url}: checksum {got} differs from the expected {sha256}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target




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


def split_of_actor(actor: int) -> str:
    """``train`` for actors 1001-1064, ``test`` for 1065-1091 (fixed, speaker-independent)."""
    actor = int(actor)
    if actor not in ACTORS:
        raise ValueError(f"CREMA-D actor {actor}: expected an id in 1001..1091")
    return "train" if actor < FIRST_TEST_ACTOR else "test"


def parse_file_name(name: str) -> tuple[int, str, str, str]:
    """``1001_IEO_NEU_XX`` -> ``(1001, "IEO", "NEU", "XX")`` (actor, sentence, intended emotion, level).

    Raises
    ------
    ValueError
        When the name is not of that form (four parts, a numeric actor id, letters elsewhere).
    """
    parts = str(name).split("_")
    if len(parts) != 4 or not parts[0].isdigit() or not all(p.isalnum() and p.isascii() for p in parts[1:]):
        raise ValueError(f"{name!r} is not a CREMA-D clip name (ACTOR_SENTENCE_EMOTION_LEVEL, e.g. 1001_IEO_NEU_XX)")
    return int(parts[0]), parts[1], parts[2], parts[3]


def votes(path: str | Path = "download", modality: str = "voice",
          agreement: float = DEFAULT_AGREEMENT) -> pd.DataFrame:
    """The votes table of one rating modality (the contract of :mod:`pddslib.corpora.votes`).

    Parameters
    ----------
    path : str or Path
        ``tabulatedVotes.csv``, its folder, or ``"download"``.
    modality : {"voice", "face", "audiovisual"}
        Voice-only rows by default (the ones that matter for speech emotion recognition).
    agreement : float
        The clear-sample rule's threshold in (0.5, 1] (:func:`pddslib.pdds.labels.agreement_cells`);
        default :data:`DEFAULT_AGREEMENT`; 1 = every rater agrees. ``dist_*`` is the rule's label
        distribution (one-hot for clear clips, the two emotions for ambiguous ones), ``votes_*``
        the raw votes.

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
    cells = agreement_cells(counts, agreement)
    rows = []
    for k, (clip, name, v, cons) in enumerate(zip(raw["row_id"] % 100000, raw["fileName"], counts,
                                                  consensus(counts))):
        a, b = cells.major[k], cells.minor[k]
        rows.append({
            "utt_id": name, "split": "all", "consensus": cons, "category": cells.category[k],
            "major": None if a < 0 else CLASSES[a], "minor": None if b < 0 else CLASSES[b],
            "reason": cells.reason[k],
            **{f"dist_{c}": float(x) for c, x in zip(CLASSES, cells.distribution[k])},
            "clip": int(clip), **{f"votes_{c}": int(x) for c, x in zip(CLASSES, v)}, "n_votes": int(v.sum()),
        })
    return conform(pd.DataFrame(rows), CLASSES, source=f"{p} ({modality})")


def split_table(path: str | Path = "download", agreement: float = DEFAULT_AGREEMENT) -> pd.DataFrame:
    """The voice-only votes table with the fixed split and the clip names' parts.

    :func:`votes`, with ``split`` = :func:`split_of_actor` (instead of ``all``) and the columns
    ``speaker`` (the actor id), ``dialog`` (the sentence code), ``intended`` (the emotion the actor
    portrayed, lower case) appended. A feature store holds the rows whose ``consensus`` is a class
    (the others' top emotions tie).

    Raises
    ------
    CorpusFormatError
        Naming the file when a ``fileName`` is not a CREMA-D clip name.
    """
    table = votes(path, "voice", agreement)
    parsed = []
    for name in table["utt_id"]:
        try:
            actor, sentence, intended, _level = parse_file_name(name)
            parsed.append((split_of_actor(actor), str(actor), sentence, intended.lower()))
        except ValueError as err:
            raise CorpusFormatError(resolve(path), None, f"fileName: {err}") from None
    split, speaker, dialog, intended = (list(col) for col in zip(*parsed))
    table["split"] = pd.array(split, dtype="str")
    return table.assign(speaker=speaker, dialog=dialog, intended=intended)


def consensus(counts: np.ndarray) -> np.ndarray:
    """The one-hot label of each clip: the emotion with the most votes, ``xxx`` on a tie.

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (N, 6)
        Votes per clip in the order of :data:`CLASSES`.

    Returns
    -------
    numpy.ndarray of str, shape (N,)
        A class code, or :data:`~pddslib.corpora.votes.NO_CONSENSUS` when two or more emotions share
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
        raise CorpusFormatError(p, None,
                                "empty file; expected the CREMA-D tabulatedVotes.csv header and rows") from None
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
        raise CorpusFormatError(p, i + 2, f"votes sum to {counts[i].sum()} but numResponses is "
                                          f"{raw['numResponses'].iloc[i]}")
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


def stats(path: str | Path = "download", modality: str = "voice", agreement: float = DEFAULT_AGREEMENT) -> CountTable:
    """Clear/ambiguous statistics of CREMA-D over its six classes (``pdds stats --crema-d``).

    The same as ``open_votes("crema-d", path=path, modality=modality, agreement=agreement).counts()``.
    """
    return table_counts(votes(path, modality, agreement), CLASSES)
