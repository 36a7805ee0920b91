"""Write small IEMOCAP-format release trees for the tests.

The layout and line formats follow the release (see pddslib.corpora.iemocap). Every utterance
is described by a :class:`Utt`; :func:`write_tree` writes evaluation files, transcripts and
(optionally) 16 kHz wavs, and returns the expected counts so that tests compare the parser
against what was written, not against itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

WORD = {"ang": "Anger", "hap": "Happiness", "sad": "Sadness", "neu": "Neutral state", "exc": "Excited",
        "fru": "Frustration", "sur": "Surprise", "fea": "Fear", "dis": "Disgust", "oth": "Other"}


@dataclass
class Utt:
    """One utterance: its id, consensus code, external and self evaluations, transcript, wav."""

    utt_id: str
    consensus: str
    external: list[list[str]]                 # one list of label codes per external evaluator
    self_eval: list[str] | None = None        # the actor's own labels (C-F1/C-M1 line)
    text: str | None = "Is there a problem?"  # None: no transcript line
    seconds: float | None = 1.2               # None: no wav file
    sample_rate: int = 16000

    @property
    def session(self) -> int:
        return int(self.utt_id[3:5])

    @property
    def dialog(self) -> str:
        return self.utt_id.rsplit("_", 1)[0]


def evaluation_block(u: Utt, start: float) -> list[str]:
    end = start + (u.seconds or 1.0)
    lines = [f"[{start:.4f} - {end:.4f}]\t{u.utt_id}\t{u.consensus}\t[2.5000, 3.0000, 2.5000]"]
    for k, labels in enumerate(u.external, start=1):
        words = "; ".join(WORD[c] for c in labels) + (";" if labels else "")
        lines.append(f"C-E{k}:\t{words}\t()")
    if u.self_eval is not None:
        who = "C-F1" if u.utt_id.rsplit("_", 1)[1][0] == "F" else "C-M1"
        lines.append(f"{who}:\t" + "; ".join(WORD[c] for c in u.self_eval) + ";\t(self)")
    for k in range(1, len(u.external) + 1):
        lines.append(f"A-E{k}:\tval 3; act 2; dom  2;\t()")
    return lines


def write_tree(root: Path, utts: list[Utt], *, tone_seed: int = 0, extra_transcript_lines: bool = True) -> Path:
    """Write an IEMOCAP-format tree under ``root`` and return ``root``."""
    rng = np.random.default_rng(tone_seed)
    by_dialog: dict[tuple[int, str], list[Utt]] = {}
    for u in utts:
        by_dialog.setdefault((u.session, u.dialog), []).append(u)
    for (session, dialog), members in sorted(by_dialog.items()):
        sdir = root / f"Session{session}"
        evd = sdir / "dialog" / "EmoEvaluation"
        trd = sdir / "dialog" / "transcriptions"
        evd.mkdir(parents=True, exist_ok=True)
        trd.mkdir(parents=True, exist_ok=True)
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        tlines = []
        t = 1.0
        for u in members:
            lines += evaluation_block(u, t) + [""]
            if u.text is not None:
                tlines.append(f"{u.utt_id} [{t:08.4f}-{t + (u.seconds or 1.0):08.4f}]: {u.text}")
            if extra_transcript_lines:
                tlines.append("M: Yeah.")
                tlines.append("F:[LAUGHTER]")
                tlines.append(f"{dialog}_MXX0 [000.0000-001.0000]: Mm-hmm.")
            t += (u.seconds or 1.0) + 0.5
            if u.seconds is not None:
                import soundfile as sf

                wdir = sdir / "sentences" / "wav" / dialog
                wdir.mkdir(parents=True, exist_ok=True)
                n = int(u.seconds * u.sample_rate)
                tt = np.arange(n) / u.sample_rate
                freq = rng.uniform(120, 300)
                wave = 0.3 * np.sin(2 * np.pi * freq * tt) + 0.01 * rng.standard_normal(n)
                sf.write(wdir / f"{u.utt_id}.wav", wave.astype(np.float32), u.sample_rate, subtype="PCM_16")
        (evd / f"{dialog}.txt").write_text("\n".join(lines) + "\n")
        (trd / f"{dialog}.txt").write_text("\n".join(tlines) + "\n")
    return root


def small_release(with_wavs: bool = True) -> list[Utt]:
    """A few utterances per session covering every category (and all five sessions)."""
    sec = 1.2 if with_wavs else None
    utts: list[Utt] = []
    for s in range(1, 6):
        d = f"Ses0{s}F_impro01"
        utts += [
            Utt(f"{d}_F000", "hap", [["hap"], ["hap"], ["hap"]], self_eval=["exc"], seconds=sec),       # clear hap
            Utt(f"{d}_M000", "ang", [["ang"], ["ang"], ["fru"]], seconds=sec and 2.0),                   # amb ang>fru
            Utt(f"{d}_F001", "fru", [["fru", "ang"], ["fru"], ["ang"]], seconds=sec and 0.6),            # tie fru=ang
            Utt(f"{d}_M001", "xxx", [["neu"], ["sad"], ["fru"]], seconds=sec),                           # other
            Utt(f"{d}_F002", "neu", [["neu"], ["neu"], ["sur"]], seconds=sec and 1.7),                   # excluded
            Utt(f"{d}_M002", "exc", [["exc", "sur"], ["exc"], ["hap"]], seconds=sec and 3.1),            # amb exc>hap
            Utt(f"{d}_F003", "sad", [["sad"], ["sad"], ["sad"]], text="I don't know.", seconds=sec),     # clear sad
        ]
    return utts


WORDS = ("yeah", "no", "I", "don't", "know", "what", "you", "mean", "okay", "well", "that's", "great",
         "really", "fine", "why", "not", "sure", "whatever", "oh", "please")


def tree_from_votes(root: Path, votes, *, seconds: float | None = 0.5, seed: int = 0) -> Path:
    """Write an IEMOCAP-format release from a votes frame (e.g. ``pddslib.corpora.demo.votes``).

    Each row becomes a block with its three external evaluators (``e1..e3``, label codes joined by
    ``;``) and its consensus code; each gets a short transcript and, when ``seconds`` is given, a
    wav of about that length.
    """
    rng = np.random.default_rng(seed)
    utts = []
    for r in votes.itertuples(index=False):
        external = [e.split(";") for e in (r.e1, r.e2, r.e3)]
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 8)))).capitalize() + "."
        sec = None if seconds is None else float(seconds * rng.uniform(0.6, 1.6))
        utts.append(Utt(r.utt_id, r.consensus, external, text=text, seconds=sec))
    return write_tree(root, utts, tone_seed=seed, extra_transcript_lines=False)
