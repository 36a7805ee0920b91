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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..counts import CountTable
from ..labels import (CLASSES, IEMOCAP_CONSENSUS, IEMOCAP_WORDS, Evaluation, VotePolicy,
                      summarise_votes)
from .errors import CorpusFormatError

TRAIN_SESSIONS: tuple[int, ...] = (1, 2, 3, 4)
TEST_SESSIONS: tuple[int, ...] = (5,)

_HEADER = re.compile(
    r"^\[\s*(?P<start>[0-9.]+)\s*-\s*(?P<end>[0-9.]+)\s*\]\s+(?P<utt>\S+)\s+(?P<emo>\S+)"
    r"\s+\[(?P<vad>[^\]]*)\]$"
)
_EVALUATOR = re.compile(r"^(?P<who>C-[A-Za-z]+\d*)\s*:\s*(?P<rest>.*)$")
_DIMENSIONAL = re.compile(r"^A-[A-Za-z]+\d*\s*:")
_UTT_ID = re.compile(r"^Ses(?P<session>\d\d)[A-Za-z]_.+_(?P<gender>[A-Za-z])\w*$")
_TRANSCRIPT = re.compile(
    r"^(?P<utt>Ses\d\d[A-Za-z]_\S+)\s+\[\s*(?P<start>[0-9.]+)\s*-\s*(?P<end>[0-9.]+)\s*\]\s*:\s?(?P<text>.*)$"
)


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

    @property
    def session(self) -> int:
        return int(self.utt_id[3:5])

    @property
    def dialog(self) -> str:
        return self.utt_id.rsplit("_", 1)[0]

    @property
    def gender(self) -> str:
        return self.utt_id.rsplit("_", 1)[1][0].upper()

    @property
    def speaker(self) -> str:
        return f"Ses{self.session:02d}{self.gender}"


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
    :class:`~pddslib.corpora.errors.CorpusFormatError` naming the file and line.

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
            m = _HEADER.match(line.strip())
            if not m:
                raise CorpusFormatError(
                    path, lineno,
                    f"malformed utterance header {line!r}; expected "
                    f"'[START - END]<TAB>UTT_ID<TAB>CONSENSUS<TAB>[V, A, D]' (truncated file?)",
                )
            utt = m["utt"]
            if not _UTT_ID.match(utt):
                raise CorpusFormatError(path, lineno, f"utterance id {utt!r} is not of the form SesNN?_..._F000/M000")
            gender = utt.rsplit("_", 1)[1][0].upper()
            if gender not in ("F", "M"):
                raise CorpusFormatError(path, lineno, f"utterance id {utt!r}: speaker letter {gender!r} is not F or M")
            emo = m["emo"].lower()
            if emo not in IEMOCAP_CONSENSUS:
                raise CorpusFormatError(
                    path, lineno, f"unknown consensus code {m['emo']!r}; expected one of {sorted(IEMOCAP_CONSENSUS)}"
                )
            try:
                start, end = float(m["start"]), float(m["end"])
            except ValueError:
                raise CorpusFormatError(path, lineno, f"times {m['start']!r} - {m['end']!r} are not numbers") from None
            vad = _parse_vad(m["vad"])
            current = RawUtterance(utt, start, end, emo, vad, path=str(path), line=lineno)
            utts.append(current)
            continue
        if current is None:
            raise CorpusFormatError(path, lineno, f"line {line!r} is outside an utterance block (expected a '[START - END] ...' header first)")
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
    return utts


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
                raise CorpusFormatError(path, u.line, f"utterance {u.utt_id} already appeared at {first.path}:{first.line}")
            seen[u.utt_id] = u
            out.append(u)
    return out


def votes_frame(utterances: Sequence[RawUtterance], policy: VotePolicy = VotePolicy(),
                classes: Sequence[str] = CLASSES) -> pd.DataFrame:
    """One row per utterance: ids, consensus, votes, label distribution, category.

    Columns: ``utt_id, session, dialog, speaker, gender, start, end, consensus, n_evaluators,
    votes_<c>..., dist_<c>..., category, major, minor, reason, source``. ``dist_*`` is the
    utterance's votes over the classes normalised (one-hot for a clear sample; all zero when no
    vote names a class).
    """
    rows = []
    for u in utterances:
        s = summarise_votes(u.evaluations, policy, classes)
        reason = s.reason
        if not u.evaluations:
            reason = "no categorical evaluator lines"
        row = {
            "utt_id": u.utt_id, "session": u.session, "dialog": u.dialog, "speaker": u.speaker,
            "gender": u.gender, "start": u.start, "end": u.end, "consensus": u.consensus,
            "n_evaluators": s.n_evaluators,
        }
        row.update({f"votes_{c}": s.votes[c] for c in classes})
        row.update({f"dist_{c}": float(x) for c, x in zip(classes, s.distribution)})
        row.update({"category": s.category, "major": s.major, "minor": s.minor, "reason": reason,
                    "source": f"{u.path}:{u.line}"})
        rows.append(row)
    cols = (["utt_id", "session", "dialog", "speaker", "gender", "start", "end", "consensus", "n_evaluators"]
            + [f"votes_{c}" for c in classes] + [f"dist_{c}" for c in classes]
            + ["category", "major", "minor", "reason", "source"])
    return pd.DataFrame(rows, columns=cols)


def read_votes(root: str | Path, sessions: Iterable[int] = TRAIN_SESSIONS,
               policy: VotePolicy = VotePolicy()) -> pd.DataFrame:
    """Parse the evaluation files of ``sessions`` and apply ``policy`` (see :func:`votes_frame`)."""
    utts = parse_sessions(root, sessions)
    frame = votes_frame(utts, policy)
    n_none = int((frame["reason"] == "no categorical evaluator lines").sum())
    if n_none:
        warnings.warn(f"{n_none} utterance header(s) without categorical evaluator lines were "
                      f"counted as excluded (first: {frame.loc[frame.reason == 'no categorical evaluator lines', 'source'].iloc[0]})",
                      stacklevel=2)
    return frame


def counts_from_frame(frame: pd.DataFrame, classes: Sequence[str] = CLASSES) -> CountTable:
    """The count table of a votes frame (as ``pdds stats`` prints it)."""
    return CountTable.from_cells(frame["category"], frame["major"], frame["minor"], classes,
                                 reasons=frame["reason"])


def stats(root: str | Path, sessions: Iterable[int] = TRAIN_SESSIONS,
          policy: VotePolicy = VotePolicy()) -> CountTable:
    """Clear/ambiguous statistics of an IEMOCAP release (``pdds stats --iemocap``)."""
    return counts_from_frame(read_votes(root, sessions, policy))


# -- transcripts and wavs ----------------------------------------------------------------------

@dataclass
class TranscriptReport:
    """What reading the transcripts found (besides the utterance texts)."""

    texts: dict[str, str]
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)


def parse_transcript_file(path: str | Path) -> TranscriptReport:
    """Read ``transcriptions/<dialog>.txt``: ``Ses01F_impro01_F002 [014.8872-018.0175]: text``.

    Lines that are not utterances (``M: Yeah.``, ``F:[LAUGHTER]``, ids with ``XX``) are skipped
    and counted.
    """
    path = Path(path)
    report = TranscriptReport({})
    for lineno, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        m = _TRANSCRIPT.match(line.strip())
        if not m or "XX" in m["utt"]:
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
    """``ROOT/SessionN/sentences/wav/<dialog>/<utt_id>.wav``."""
    session = int(utt_id[3:5])
    dialog = utt_id.rsplit("_", 1)[0]
    return Path(root) / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt_id}.wav"


def six_class_frame(root: str | Path, sessions: Iterable[int] = (1, 2, 3, 4, 5),
                    policy: VotePolicy = VotePolicy(), classes: Sequence[str] = CLASSES,
                    check_sizes: bool = True) -> pd.DataFrame:
    """The 6-class protocol: every utterance whose consensus label is one of the classes.

    Adds ``split`` (``train`` for sessions 1-4, ``test`` for session 5). When all five sessions
    are read, the sizes are checked against the release's 5,758 / 1,622 and a difference is
    warned about loudly.

    Training targets are the label distributions ``dist_*``; an utterance whose counted votes
    name none of the classes (possible under the policy's exclusion) gets its consensus label
    one-hot instead, and the number of such fallbacks is in ``frame.attrs["consensus_fallback"]``.
    """
    sessions = tuple(sessions)
    frame = read_votes(root, sessions, policy)
    six = frame[frame["consensus"].isin(classes)].copy().reset_index(drop=True)
    six["split"] = np.where(six["session"].isin(TEST_SESSIONS), "test", "train")
    dist_cols = [f"dist_{c}" for c in classes]
    empty = six[dist_cols].sum(axis=1) == 0
    for c in classes:
        six.loc[empty, f"dist_{c}"] = (six.loc[empty, "consensus"] == c).astype(float)
    six.attrs["consensus_fallback"] = int(empty.sum())
    six.attrs["not_six_class"] = int(len(frame) - len(six))
    if check_sizes and set(sessions) == {1, 2, 3, 4, 5}:
        from ..reference import six_class_sizes

        expect = {k: sum(v.values()) for k, v in six_class_sizes().items()}
        got = six["split"].value_counts().to_dict()
        if any(got.get(k, 0) != n for k, n in expect.items()):
            warnings.warn(
                f"!!! 6-class split differs from the IEMOCAP release: train {got.get('train', 0)} "
                f"(expected {expect['train']}), test {got.get('test', 0)} (expected {expect['test']}). "
                f"Is this the full, unmodified release?",
                stacklevel=2,
            )
    return six
