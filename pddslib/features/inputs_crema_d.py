"""The inputs of a CREMA-D extraction (``pdds extract --crema-d ROOT``): the release's voice-only crowd
votes and ``AudioWAV/`` clips, audio only, with the fixed speaker-independent split.

Layout read: ``ROOT/AudioWAV/<clip>.wav`` (16 kHz mono in the release) and
``ROOT/processedResults/tabulatedVotes.csv`` (or ``votes=`` another copy of it). Stored: every clip
whose voice-only votes have a unique top emotion (the test label, CREMA-D's ``emoVote``); clips
whose top emotions tie have no test label and are left out (counted). Manifest columns:
``speaker`` = the actor id, ``dialog`` = the sentence code (``IEO``, ...), ``session`` = 0,
``gender`` empty, ``split`` by :func:`pddslib.corpora.crema_d.split_of_actor`, ``intended`` =
the emotion the actor was asked to portray, ``votes_<class>`` and ``n_votes`` the raw votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .audio import AudioFileError, wav_info
from .inputs import ExtractionInputs, features_hash, file_digest, listing
from .store import MANIFEST_COLUMNS

LFS_MAGIC = b"version https://git-lfs"


def _wav_info(path: Path):
    try:
        return wav_info(path)
    except AudioFileError:
        with open(path, "rb") as f:
            head = f.read(len(LFS_MAGIC))
        if head == LFS_MAGIC:
            raise AudioFileError(f"{path}: a Git LFS pointer, not audio; fetch the audio with `git lfs pull` in the "
                                 f"CREMA-D clone") from None
        raise


def release_paths(root: str | Path, votes: str | Path | None = None) -> tuple[Path, Path]:
    """``(ROOT/AudioWAV, tabulatedVotes.csv)`` of a release, checked."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder; expected a CREMA-D release holding AudioWAV/ and "
                                f"processedResults/tabulatedVotes.csv")
    wav_dir = root / "AudioWAV"
    if not wav_dir.is_dir():
        raise FileNotFoundError(f"{wav_dir}: not found; expected the CREMA-D release's AudioWAV/ folder of clips")
    table = Path(votes) if votes else root / "processedResults" / "tabulatedVotes.csv"
    if not table.is_file():
        raise FileNotFoundError(f"{table}: not found; expected CREMA-D's processedResults/tabulatedVotes.csv "
                                f"(`pdds download` fetches it; pass it with --votes)")
    return wav_dir, table


def read_crema_d_inputs(root: str | Path, *, agreement: float | None = None, votes: str | Path | None = None,
                        exclude: Sequence[str] = (), workers: int = 2,
                        synthetic: bool = False) -> tuple[ExtractionInputs, dict[str, Any], dict[str, Any]]:
    """The clips to store, the feature settings and the label policy of a CREMA-D release."""
    from ..corpora import crema_d
    from ..pdds.labels import check_agreement

    wav_dir, table_path = release_paths(root, votes)
    agreement = crema_d.DEFAULT_AGREEMENT if agreement is None else check_agreement(agreement)
    table = crema_d.split_table(table_path, agreement)
    unknown = sorted(set(exclude) - set(table["utt_id"]))
    if unknown:
        raise ValueError(f"--exclude names clip(s) that {table_path} does not hold: {', '.join(unknown[:5])}")
    table["session"], table["gender"] = 0, ""
    keep = table["consensus"].isin(crema_d.CLASSES) & ~table["utt_id"].isin(list(exclude))
    no_label = int((~table["consensus"].isin(crema_d.CLASSES)).sum())
    rows = table[keep].reset_index(drop=True)
    paths = [wav_dir / f"{u}.wav" for u in rows["utt_id"]]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent:
        raise FileNotFoundError(listing(absent, len(absent), f"of {len(paths)} CREMA-D clips to extract have no "
                                                             f"wav (leave clips out with --exclude)"))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        wavs = list(pool.map(_wav_info, paths))
        digests = list(pool.map(file_digest, paths))
    extras = ["n_votes", "intended"] + [f"votes_{c}" for c in crema_d.CLASSES]
    frame = rows[list(MANIFEST_COLUMNS) + [f"dist_{c}" for c in crema_d.CLASSES] + extras].copy()
    for col in ("major", "minor"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    notes = [f"{no_label} clip(s) whose top emotions tie left out (no test label)"]
    if exclude:
        notes.append(f"{len(exclude)} clip(s) excluded by request")
    inputs = ExtractionInputs(frame, None, wavs, annotations=file_digest(table_path)[:16],
                              features=features_hash(frame["utt_id"].tolist(), None, digests), corpus="crema-d",
                              classes=crema_d.CLASSES, synthetic=synthetic, notes=notes,
                              label_sources="the votes or the agreement rule")
    settings: dict[str, Any] = {"ratings": "voice-only crowd votes (tabulatedVotes.csv rows 1xxxxx)"}
    if synthetic:
        settings["synthetic_audio"] = True
        settings["scale"] = round(len(rows) / 7442, 6)   # the demo's size as a fraction of CREMA-D's
    policy = {"modality": "voice", "agreement": agreement,
              "split": f"actors 1001-{crema_d.FIRST_TEST_ACTOR - 1} train, {crema_d.FIRST_TEST_ACTOR}-1091 test",
              "excluded": sorted(exclude)}
    return inputs, settings, policy
