"""The IEMOCAP release: categorical evaluations, transcripts and sentence wavs.

Layout read (``ROOT`` is the release folder, e.g. ``IEMOCAP_full_release``)::

    ROOT/SessionN/dialog/EmoEvaluation/<dialog>.txt     categorical + dimensional evaluations
    ROOT/SessionN/dialog/transcriptions/<dialog>.txt    "<utt_id> [start-end]: text"
    ROOT/SessionN/sentences/wav/<dialog>/<utt_id>.wav   16 kHz mono

An evaluation file starts with a ``%`` comment line; utterance blocks are separated by blank
lines. A block starts with a tab-separated header ``[START - END]  UTT_ID  CONSENSUS  [V, A, D]``,
then one line per categorical evaluator (``C-E2:  Frustration; Anger;  (comment)``; ``C-E*`` are
external evaluators, ``C-F*``/``C-M*`` the actors' self-evaluations), then dimensional lines
(``A-E3:  val 2; act 4; dom 3;  ()``) that are not categorical votes.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..pdds.counts import CountTable
from ..pdds.labels import CLASSES, Evaluation, VotePolicy, tally_votes
from .errors import CorpusFormatError
from .votes import conform, table_counts

#: IEMOCAP label words -> codes. "Neutral state" is how some files write Neutral.
IEMOCAP_WORDS: dict[str, str] = {
    "anger": "ang",
    "happiness": "hap",
    "sadness": "sad",
    "neutral": "neu",
    "neutral state": "neu",
    "excited": "exc",
    "frustration": "fru",
    "surprise": "sur",
    "fear": "fea",
    "disgust": "dis",
    "other": "oth",
}

#: Consensus codes that IEMOCAP's header lines may carry.
IEMOCAP_CONSENSUS: frozenset[str] = frozenset(
    {"ang", "hap", "sad", "neu", "exc", "fru", "sur", "fea", "dis", "oth", "xxx"}
)

#: The session-to-split map of the paper (and of the usual IEMOCAP protocol).
SPLIT_SESSIONS: dict[str, tuple[int, ...]] = {"train": (1, 2, 3, 4), "test": (5,)}
TRAIN_SESSIONS: tuple[int, ...] = SPLIT_SESSIONS["train"]
TEST_SESSIONS: tuple[int, ...] = SPLIT_SESSIONS["test"]
ALL_SESSIONS: tuple[int, ...] = TRAIN_SESSIONS + TEST_SESSIONS

_HEADER = re.compile(
    r"^\[\s*(?P<start>[0-9.]+)\s*-\s*(?P<end>[0-9.]+)\s*\]\s+(?P<utt>\S+)\s+(?P<emo>\S+)"
    r"\s+\[(?P<vad>[^\]]*)\]$"
)
_EVALUATOR = re.compile(r"^(?P<who>C-[A-Za-z]+\d*)\s*:\s*(?P<rest>.*)$")
_DIMENSIONAL = re.compile(r"^A-[A-Za-z]+\d*\s*:")
_UTT_ID = re.compile(  # used with fullmatch
    r"(?P<dialog>Ses(?P<session>\d\d)[FM]_[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)_(?P<gender>[FM])\d+", re.ASCII
)
_TRANSCRIPT = re.compile(
    r"^(?P<utt>Ses\d\d[A-Za-z]_\S+)\s+\[\s*(?P<start>[0-9.]+)\s*-\s*(?P<end>[0-9.]+)\s*\]\s*:\s?(?P<text>.*)$"
)


class UttId(NamedTuple):
    """The parts of an IEMOCAP utterance id such as ``Ses01F_script01_1_M003``."""

    utt_id: str
    session: int    # 1
    dialog: str     # "Ses01F_script01_1"
    speaker: str    # "Ses01M": session and the speaker's gender (two actors per session)
    gender: str     # "M"


def parse_utt_id(utt_id: str) -> UttId:
    """Split an IEMOCAP utterance id into session, dialog, speaker and gender.

    The id must be ``SesNN[FM]_<dialog parts>_[FM]<digits>`` with letters, digits and ``_``
    only, so that no path built from it (:func:`wav_path`) can leave the release folder.

    Raises
    ------
    ValueError
        For any other id (callers that read a file re-raise it with the file and line).
    """
    m = _UTT_ID.fullmatch(utt_id) if isinstance(utt_id, str) else None
    if not m:
        raise ValueError(f"utterance id {utt_id!r} is not an IEMOCAP id: expected SesNN[FM]_<dialog>_[FM]NNN "
                         f"(letters, digits and '_' only), e.g. Ses01F_impro01_F000")
    session, gender = int(m["session"]), m["gender"]
    return UttId(utt_id, session, m["dialog"], f"Ses{session:02d}{gender}", gender)


def split_of(session: int) -> str:
    """``train`` or ``test``: the split of an IEMOCAP session (:data:`SPLIT_SESSIONS`)."""
    for split, sessions in SPLIT_SESSIONS.items():
        if session in sessions:
            return split
    raise ValueError(f"session {session!r} is not an IEMOCAP session (expected one of {list(ALL_SESSIONS)})")


def sessions_of(split: str) -> tuple[int, ...]:
    """The sessions of ``train``, ``test`` or ``all``."""
    if split == "all":
        return ALL_SESSIONS
    if split not in SPLIT_SESSIONS:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return SPLIT_SESSIONS[split]


def split_of_sessions(sessions: Iterable[int]) -> str | None:
    """``train``, ``test`` or ``all`` when ``sessions`` are exactly that split's; else None."""
    chosen = sorted(set(sessions))
    for split in ("train", "test", "all"):
        if chosen == sorted(sessions_of(split)):
            return split
    return None


def session_list(sessions: str | Iterable[int]) -> tuple[int, ...]:
    """Sessions from ``"1,2,3,4"`` or a sequence of ints, checked to lie in 1..5."""
    try:
        out = tuple(int(x) for x in (sessions.split(",") if isinstance(sessions, str) else sessions)
                    if str(x).strip())
    except ValueError:
        raise ValueError(f"sessions must be a comma-separated list such as 1,2,3,4, got {sessions!r}") from None
    if not out or any(s not in ALL_SESSIONS for s in out):
        raise ValueError(f"sessions must name IEMOCAP sessions among {list(ALL_SESSIONS)}, got {sessions!r}")
    return out


@dataclass
class RawUtterance:
    """One utterance block of an evaluation file, before any vote policy."""

    utt_id: str
    start: float
    end: float
    consensus: str
    vad: tuple[float, float, float] | None
    evaluations: list[Evaluation] = field(default_factory=list)
    path: str = ""
    line: int = 0

    @cached_property
    def ids(self) -> UttId:
        """Session, dialog, speaker and gender (:func:`parse_utt_id`)."""
        return parse_utt_id(self.utt_id)

    @property
    def session(self) -> int:
        return self.ids.session

    @property
    def dialog(self) -> str:
        return self.ids.dialog

    @property
    def gender(self) -> str:
        return self.ids.gender

    @property
    def speaker(self) -> str:
        return self.ids.speaker


def _read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not UTF-8/ASCII text ({err.reason} at byte {err.start})") from None
    return [ln.rstrip() for ln in text.splitlines()]


def _parse_labels(rest: str, path: Path, lineno: int) -> tuple[str, ...]:
    """Label codes of the part after ``C-E2:``; the trailing ``(comment)`` is dropped.

    The release writes ``Label; Label;<TAB>(comment)``. The labels are everything before the tab
    (so a last label without its ``;``, such as ``Other:sarcastic<TAB>()``, is kept); without a
    tab, everything up to the last ``;``, or else up to a ``(`` comment.
    """
    if "\t" in rest:
        part = rest.split("\t", 1)[0]
    elif ";" in rest:
        part = rest[: rest.rfind(";") + 1]
    else:
        part = rest.split("(", 1)[0]
    codes = []
    for token in part.split(";"):
        word = " ".join(token.split())
        if not word:
            continue
        key = word.lower()
        if key.startswith("other"):
            # "Other" may carry free text after a colon: "Other:nervous".
            if key == "other" or key[5:].lstrip().startswith(":"):
                codes.append("oth")
                continue
        if key not in IEMOCAP_WORDS:
            raise CorpusFormatError(
                path, lineno,
                f"unknown label word {word!r}; expected one of Anger, Happiness, Sadness, Neutral "
                f"(or 'Neutral state'), Excited, Frustration, Surprise, Fear, Disgust, Other[:text]",
            )
        codes.append(IEMOCAP_WORDS[key])
    return tuple(codes)


def parse_evaluation_file(path: str | Path) -> list[RawUtterance]:
    """Parse one ``EmoEvaluation/<dialog>.txt`` file.

    Handles a byte-order mark, CRLF line ends and trailing spaces. Anything else unexpected is a
    :class:`~pddslib.corpora.errors.CorpusFormatError` naming the file and line: an empty file
    (or one without any utterance block), a malformed header or utterance id, a start time after
    the end time, an unknown label word or consensus code, a stray line.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of RawUtterance
        In file order. A header without evaluator lines gives an utterance with no evaluations
        (the vote policy then excludes it, and says why).
    """
    path = Path(path)
    lines = _read_lines(path)
    utts: list[RawUtterance] = []
    current: RawUtterance | None = None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            current = None
            continue
        if line.startswith("%"):
            continue
        if line.startswith("["):
            current = _parse_header(line, path, lineno)
            utts.append(current)
            continue
        if current is None:
            raise CorpusFormatError(path, lineno, f"line {line!r} is outside an utterance block "
                                                  "(expected a '[START - END] ...' header first)")
        m = _EVALUATOR.match(line.strip())
        if m:
            who = m["who"]
            labels = _parse_labels(m["rest"], path, lineno)
            current.evaluations.append(Evaluation(who, labels, external=who.upper().startswith("C-E")))
            continue
        if _DIMENSIONAL.match(line.strip()):
            continue
        raise CorpusFormatError(
            path, lineno,
            f"unexpected line {line!r}; expected a categorical evaluation 'C-E1: Label; (comment)', "
            f"a dimensional line 'A-E1: val ..', or a blank line",
        )
    if not utts:
        what = "empty file (0 bytes)" if not lines else "no utterance block"
        raise CorpusFormatError(path, None, f"{what}; expected blocks that start with "
                                            f"'[START - END]<TAB>UTT_ID<TAB>CONSENSUS<TAB>[V, A, D]'")
    return utts


def _parse_header(line: str, path: Path, lineno: int) -> RawUtterance:
    """The utterance of a ``[START - END]<TAB>UTT_ID<TAB>CONSENSUS<TAB>[V, A, D]`` line."""
    m = _HEADER.match(line.strip())
    if not m:
        raise CorpusFormatError(
            path, lineno,
            f"malformed utterance header {line!r}; expected "
            f"'[START - END]<TAB>UTT_ID<TAB>CONSENSUS<TAB>[V, A, D]' (truncated file?)",
        )
    try:
        parse_utt_id(m["utt"])
    except ValueError as err:
        raise CorpusFormatError(path, lineno, str(err)) from None
    emo = m["emo"].lower()
    if emo not in IEMOCAP_CONSENSUS:
        raise CorpusFormatError(
            path, lineno, f"unknown consensus code {m['emo']!r}; expected one of {sorted(IEMOCAP_CONSENSUS)}"
        )
    try:
        start, end = float(m["start"]), float(m["end"])
    except ValueError:
        raise CorpusFormatError(path, lineno, f"times {m['start']!r} - {m['end']!r} are not numbers") from None
    if start > end:
        raise CorpusFormatError(path, lineno, f"start time {m['start']} is after end time {m['end']}; "
                                              f"expected [START - END] with START <= END")
    return RawUtterance(m["utt"], start, end, emo, _parse_vad(m["vad"]), path=str(path), line=lineno)


def _parse_vad(text: str) -> tuple[float, float, float] | None:
    parts = [p.strip() for p in text.split(",")]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        return None
    return vals if len(vals) == 3 else None  # type: ignore[return-value]


def _session_dir(root: Path, session: int) -> Path:
    return root / f"Session{session}"


def evaluation_files(root: str | Path, sessions: Iterable[int]) -> list[Path]:
    """The evaluation files of the given sessions (hidden ``._*`` files are skipped).

    Raises a clear error when ROOT or a session's ``dialog/EmoEvaluation`` folder is missing.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: IEMOCAP root folder not found")
    files: list[Path] = []
    for s in sessions:
        folder = _session_dir(root, s) / "dialog" / "EmoEvaluation"
        if not folder.is_dir():
            found = sorted(p.name for p in root.glob("Session*"))
            raise FileNotFoundError(
                f"{folder}: missing (session {s} requested). ROOT must be the IEMOCAP release folder "
                f"that holds Session1..Session5; found here: {found or 'no Session* folder'}"
            )
        mine = sorted(p for p in folder.glob("*.txt") if not p.name.startswith("."))
        if not mine:
            raise FileNotFoundError(f"{folder}: no evaluation files (*.txt)")
        files.extend(mine)
    return files


def parse_sessions(root: str | Path, sessions: Iterable[int]) -> list[RawUtterance]:
    """Every utterance block of the given sessions, checked for duplicates and session ids."""
    seen: dict[str, RawUtterance] = {}
    out: list[RawUtterance] = []
    for path in evaluation_files(root, sessions):
        session = int(path.parent.parent.parent.name.removeprefix("Session"))
        for u in parse_evaluation_file(path):
            if u.session != session:
                raise CorpusFormatError(path, u.line, f"utterance {u.utt_id} belongs to session {u.session}, "
                                                      f"but the file is in Session{session}")
            if u.utt_id in seen:
                first = seen[u.utt_id]
                raise CorpusFormatError(path, u.line,
                                        f"utterance {u.utt_id} already appeared at {first.path}:{first.line}")
            seen[u.utt_id] = u
            out.append(u)
    return out


NO_EVALUATOR = "no categorical evaluator lines"


def votes(root: str | Path, sessions: str | Iterable[int] = TRAIN_SESSIONS,
          policy: str | VotePolicy = "default", classes: Sequence[str] = CLASSES) -> pd.DataFrame:
    """The votes table of an IEMOCAP release (the contract of :mod:`pddslib.corpora.votes`).

    Parameters
    ----------
    root : str or Path
        The release folder (holds ``Session1`` .. ``Session5``); only
        ``SessionN/dialog/EmoEvaluation/*.txt`` are read.
    sessions : str or iterable of int
        Sessions to read, e.g. ``(1, 2, 3, 4)`` or ``"1,2,3,4"``.
    policy : str or VotePolicy
        A vote policy or its name (:meth:`~pddslib.pdds.labels.VotePolicy.named`).
    classes : sequence of str
        The classes of the label distributions.

    Returns
    -------
    pandas.DataFrame
        The fixed columns (``split`` from :data:`SPLIT_SESSIONS`), then ``session, dialog,
        speaker, gender, start, end, n_evaluators, votes_<c>..., source`` (``source`` is
        ``file:line`` of the utterance's header). A header without evaluator lines is an excluded
        row (reason ``no categorical evaluator lines``) and a warning names the first.
    """
    policy = policy if isinstance(policy, VotePolicy) else VotePolicy.named(policy)
    utts = parse_sessions(root, session_list(sessions))
    frame = conform(_rows(utts, policy, classes), classes, source=f"IEMOCAP release {root}")
    silent = frame["reason"] == NO_EVALUATOR
    if silent.any():
        warnings.warn(f"{int(silent.sum())} utterance header(s) without categorical evaluator lines were "
                      f"counted as excluded (first: {frame.loc[silent, 'source'].iloc[0]})", stacklevel=2)
    return frame


def _rows(utterances: Sequence[RawUtterance], policy: VotePolicy, classes: Sequence[str]) -> pd.DataFrame:
    """One row per utterance (fixed columns first, then IEMOCAP's own) before :func:`conform`."""
    rows = []
    for u in utterances:
        t = tally_votes(u.evaluations, policy, classes)
        rows.append({
            "utt_id": u.utt_id, "split": split_of(u.session), "consensus": u.consensus,
            "category": t.category, "major": t.major, "minor": t.minor,
            "reason": NO_EVALUATOR if not u.evaluations else t.reason,
            **{f"dist_{c}": float(x) for c, x in zip(classes, t.distribution)},
            "session": u.session, "dialog": u.dialog, "speaker": u.speaker, "gender": u.gender,
            "start": u.start, "end": u.end, "n_evaluators": t.n_evaluators,
            **{f"votes_{c}": t.votes[c] for c in classes},
            "source": f"{u.path}:{u.line}",
        })
    return pd.DataFrame(rows)


def stats(root: str | Path, sessions: str | Iterable[int] = TRAIN_SESSIONS,
          policy: str | VotePolicy = "default") -> CountTable:
    """Clear/ambiguous statistics of an IEMOCAP release (what ``pdds stats --iemocap`` prints).

    The same as ``open_votes("iemocap", root=root, sessions=sessions, policy=policy).counts()``.
    """
    return table_counts(votes(root, sessions, policy), CLASSES)


# -- transcripts and wavs ----------------------------------------------------------------------

@dataclass
class TranscriptReport:
    """What reading the transcripts found (besides the utterance texts)."""

    texts: dict[str, str]
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)


def parse_transcript_file(path: str | Path) -> TranscriptReport:
    """Read ``transcriptions/<dialog>.txt``: ``Ses01F_impro01_F002 [014.8872-018.0175]: text``.

    Lines that are not utterances (``M: Yeah.``, ``F:[LAUGHTER]``, ids with ``XX`` or any other
    id that :func:`parse_utt_id` rejects) are skipped and counted.
    """
    path = Path(path)
    report = TranscriptReport({})
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        m = _TRANSCRIPT.match(line.strip())
        if not m or not _UTT_ID.fullmatch(m["utt"]):
            report.skipped += 1
            if len(report.skipped_examples) < 3:
                report.skipped_examples.append(f"{path}:{lineno}: {line[:60]!r}")
            continue
        if m["utt"] in report.texts:
            raise CorpusFormatError(path, lineno, f"utterance {m['utt']} appears twice")
        report.texts[m["utt"]] = m["text"].strip()
    return report


def read_transcripts(root: str | Path, sessions: Iterable[int]) -> TranscriptReport:
    """Transcripts of every utterance of the given sessions."""
    root = Path(root)
    total = TranscriptReport({})
    for s in sessions:
        folder = _session_dir(root, s) / "dialog" / "transcriptions"
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: transcription folder missing (session {s})")
        for path in sorted(p for p in folder.glob("*.txt") if not p.name.startswith(".")):
            rep = parse_transcript_file(path)
            for k, v in rep.texts.items():
                if k in total.texts:
                    raise CorpusFormatError(path, None, f"utterance {k} also appears in another transcript file")
                total.texts[k] = v
            total.skipped += rep.skipped
            total.skipped_examples.extend(rep.skipped_examples[: max(0, 3 - len(total.skipped_examples))])
    return total


def wav_path(root: str | Path, utt_id: str) -> Path:
    """``ROOT/SessionN/sentences/wav/<dialog>/<utt_id>.wav``.

    Raises
    ------
    ValueError
        When ``utt_id`` is not an IEMOCAP id (:func:`parse_utt_id`), so the path stays inside ROOT.
    """
    ids = parse_utt_id(utt_id)
    return Path(root) / f"Session{ids.session}" / "sentences" / "wav" / ids.dialog / f"{utt_id}.wav"


def transcript_path(root: str | Path, utt_id: str) -> Path:
    """``ROOT/SessionN/dialog/transcriptions/<dialog>.txt``, the file holding ``utt_id``'s line."""
    ids = parse_utt_id(utt_id)
    return _session_dir(Path(root), ids.session) / "dialog" / "transcriptions" / f"{ids.dialog}.txt"


def six_class_frame(root: str | Path, sessions: str | Iterable[int] = ALL_SESSIONS,
                    policy: str | VotePolicy = "default", classes: Sequence[str] = CLASSES,
                    check_sizes: bool = True) -> pd.DataFrame:
    """The 6-class protocol: the rows of :func:`votes` whose consensus label is one of the classes.

    When all five sessions are read, the sizes are checked against the release's 5,758 / 1,622
    and a difference is warned about loudly.

    Training targets are the label distributions ``dist_*``; an utterance whose counted votes
    name none of the classes (possible under the policy's exclusion) gets its consensus label
    one-hot instead, and the number of such fallbacks is in ``frame.attrs["consensus_fallback"]``
    (``frame.attrs["not_six_class"]`` counts the rows left out).
    """
    sessions = session_list(sessions)
    frame = votes(root, sessions, policy, classes)
    six = frame[frame["consensus"].isin(classes)].reset_index(drop=True)
    dist_cols = [f"dist_{c}" for c in classes]
    empty = six[dist_cols].sum(axis=1) == 0
    for c in classes:
        six.loc[empty, f"dist_{c}"] = (six.loc[empty, "consensus"] == c).astype(float)
    six.attrs["consensus_fallback"] = int(empty.sum())
    six.attrs["not_six_class"] = int(len(frame) - len(six))
    if check_sizes and set(sessions) == set(ALL_SESSIONS):
        _check_six_class_sizes(six)
    return six


def _check_six_class_sizes(six: pd.DataFrame) -> None:
    from ..reference import six_class_sizes

    expect = {k: sum(v.values()) for k, v in six_class_sizes().items()}
    got = six["split"].value_counts().to_dict()
    if any(got.get(k, 0) != n for k, n in expect.items()):
        warnings.warn(
            f"!!! 6-class split differs from the IEMOCAP release: train {got.get('train', 0)} "
            f"(expected {expect['train']}), test {got.get('test', 0)} (expected {expect['test']}). "
            f"Is this the full, unmodified release?",
            stacklevel=3,
        )
