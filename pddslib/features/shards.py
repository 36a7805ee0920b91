"""Interruptible extraction: work in progress as shards in ``<out>.partial/``.

``<out>.partial/state.json`` records what is being extracted (the configuration hash, the
utterance list and the identity of the input files); each shard ``shard_NNNNN/`` holds the
features of ``shard_size`` consecutive utterances and is written atomically (a temporary folder
renamed into place), so a shard is either complete or absent. Running the same extraction again
skips finished shards. A shard is only written when every value is finite (a NaN or inf names
the utterance and its wav), and a shard that cannot be read back (truncated, corrupt) is removed
with a warning and extracted again, so a bad shard never poisons a resume.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..util.atomic import atomic_dir, remove_dir
from ..util.hashing import config_hash
from .store import StoreError


class ShardSet:
    """The ``.partial`` folder of one extraction.

    Parameters
    ----------
    partial : Path
        ``<out>.partial``.
    """

    def __init__(self, partial: Path) -> None:
        self.path = Path(partial)

    # -- state ------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any] | None:
        """The recorded state, or None when there is no usable partial (a half-deleted one is swept)."""
        if not self.path.exists():
            return None
        state_path = self.path / "state.json"
        if not state_path.is_file():
            warnings.warn(f"{self.path}: a half-deleted unfinished extraction (no state.json); removed it",
                          stacklevel=3)
            shutil.rmtree(self.path, ignore_errors=True)
            return None
        try:
            state = json.loads(state_path.read_text())
            if not isinstance(state, dict) or not isinstance(state.get("shard_size"), int):
                raise ValueError("expected an object with an integer shard_size")
        except ValueError as err:
            raise StoreError(f"{state_path}: unreadable state of an unfinished extraction ({err}); "
                             f"delete {self.path} to start again") from None
        return state

    def check(self, config: dict[str, Any], utt_ids: Sequence[str], inputs: str) -> int | None:
        """The shard size of a partial holding this same work; None when there is none.

        A partial of other input files (wavs or transcripts changed since it started, e.g. a
        wav with NaN samples was fixed) cannot be resumed: it is removed, with a warning.

        Raises
        ------
        StoreError
            When the partial holds other work (other settings or utterances).
        """
        state = self.state()
        if state is None:
            return None
        if state.get("config_hash") != config_hash(config):
            raise StoreError(f"{self.path}: an unfinished extraction with other settings "
                             f"({config_diff(state.get('config', {}), config)}). Delete {self.path} to start "
                             f"again, or rerun with the same settings to resume it")
        if state.get("utterances") != config_hash({"utt_ids": list(utt_ids)}):
            raise StoreError(f"{self.path}: an unfinished extraction of another utterance list (other corpus "
                             f"copy?). Delete {self.path} to start again")
        if state.get("inputs") != inputs:
            warnings.warn(f"{self.path}: an unfinished extraction of other input files (wavs or transcripts "
                          f"changed since it started); removed it, its shards will be extracted again",
                          stacklevel=3)
            self.remove()
            return None
        return int(state["shard_size"])

    def create(self, config: dict[str, Any], utt_ids: Sequence[str], inputs: str, shard_size: int) -> None:
        """Start a new partial (its state is written atomically)."""
        self.path.mkdir(parents=True)
        state = {"config": config, "config_hash": config_hash(config),
                 "utterances": config_hash({"utt_ids": list(utt_ids)}), "inputs": inputs,
                 "n_utterances": len(utt_ids), "shard_size": int(shard_size)}
        tmp = self.path / f".state.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.path / "state.json")

    def remove(self) -> None:
        """Delete the partial (renamed aside first, so an interruption leaves nothing half-deleted)."""
        remove_dir(self.path)

    # -- shards -----------------------------------------------------------------------------------
    def shard_dir(self, k: int) -> Path:
        return self.path / f"shard_{k:05d}"

    def done(self, k: int, utt_ids: Sequence[str], modalities: Sequence[str] = ("audio", "text")) -> bool:
        """Whether shard ``k`` holds these utterances and reads back; a corrupt one is removed (and said)."""
        d = self.shard_dir(k)
        meta = d / "meta.json"
        if not meta.is_file():
            return False
        try:
            if json.loads(meta.read_text()).get("utt_ids") != list(utt_ids):
                raise ValueError("it holds other utterances")
            for mod in modalities:
                arr = np.load(d / f"{mod}.npy", mmap_mode="r")
                off = np.load(d / f"{mod}_offsets.npy")
                if off.shape != (len(utt_ids) + 1,) or int(off[-1]) != arr.shape[0]:
                    raise ValueError(f"{mod} offsets do not match {mod}.npy")
                del arr
        except (OSError, ValueError, EOFError) as err:
            warnings.warn(f"{d}: corrupt shard ({err}); it will be extracted again", stacklevel=3)
            shutil.rmtree(d, ignore_errors=True)
            return False
        return True

    def write(self, k: int, utt_ids: Sequence[str], sources: Sequence[str], seqs: dict[str, list[np.ndarray]],
              dtype: str, stats: dict[str, Any]) -> Path:
        """Write shard ``k`` atomically, after checking that every value is finite.

        Parameters
        ----------
        utt_ids, sources : sequences of str
            The shard's utterances and the file each came from (named in errors).
        seqs : dict
            ``{modality: [(T, D) array per utterance]}``.
        """
        for mod, arrays in seqs.items():
            for utt, src, a in zip(utt_ids, sources, arrays):
                if not np.isfinite(a).all():
                    raise StoreError(f"{src}: the {mod} features of utterance {utt} contain NaN or inf "
                                     f"(are the wav's samples finite?); nothing of this shard was kept")
        with atomic_dir(self.shard_dir(k)) as tmp:
            for mod, arrays in seqs.items():
                lengths = np.array([len(a) for a in arrays], dtype=np.int64)
                np.save(tmp / f"{mod}.npy", np.concatenate(arrays).astype(dtype))
                np.save(tmp / f"{mod}_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
            (tmp / "meta.json").write_text(json.dumps({"utt_ids": list(utt_ids), **stats}))
        return self.shard_dir(k)

    def meta(self, k: int) -> dict[str, Any]:
        return json.loads((self.shard_dir(k) / "meta.json").read_text())

    def lengths(self, k: int, mod: str) -> list[int]:
        return np.diff(np.load(self.shard_dir(k) / f"{mod}_offsets.npy")).tolist()

    def sequences(self, n_shards: int, mod: str) -> Iterator[np.ndarray]:
        """Every utterance's sequence of one modality, shard after shard."""
        for k in range(n_shards):
            d = self.shard_dir(k)
            arr = np.load(d / f"{mod}.npy", mmap_mode="r")
            off = np.load(d / f"{mod}_offsets.npy")
            for i in range(len(off) - 1):
                yield arr[off[i]:off[i + 1]]
            del arr


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    """``"key: old there, new now; ..."`` for the keys whose values differ."""
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "; ".join(f"{k}: {a.get(k)!r} there, {b.get(k)!r} now" for k in keys) or "(no visible difference)"
