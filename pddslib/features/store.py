"""The on-disk feature store: one format for any corpus (IEMOCAP, the demo corpus, yours).

Layout of a store folder::

    store.json          format, corpus, classes, modalities (dim, dtype, frames), config + hash
    manifest.csv        one row per utterance: utt_id, session, dialog, speaker, gender, split,
                        consensus, category, major, minor, dist_<class>..., <modality>_len...
    <modality>.npy      all frames of all utterances, concatenated: (sum of lengths, dim)
    <modality>_offsets.npy   (N + 1,) int64: utterance i is rows offsets[i]:offsets[i+1]

Sequences stay ragged (no padding on disk); arrays are memory-mapped, so opening a store reads
only the manifest. :meth:`FeatureStore.open` checks what it reads (dimensions, offsets against the
manifest, label distributions, NaN/inf) and says what is wrong. A store is written into a
temporary folder and renamed into place, so a store folder is either complete or absent.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..atomic import atomic_dir

FORMAT = "pddslib-feature-store"
VERSION = 1
MANIFEST_COLUMNS: tuple[str, ...] = (
    "utt_id", "session", "dialog", "speaker", "gender", "split", "consensus", "category", "major", "minor",
)


class StoreError(ValueError):
    """A feature store is missing, incomplete or inconsistent (the message names the file)."""


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-serialisable configuration."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_store(path: str | Path, manifest: pd.DataFrame, modalities: Mapping[str, Iterable[np.ndarray]],
                *, classes: Sequence[str], dims: Mapping[str, int], config: Mapping[str, Any],
                corpus: str, synthetic: bool = False, dtype: str = "float16",
                overwrite: bool = False) -> Path:
    """Write a store atomically, streaming each modality's sequences to disk.

    Parameters
    ----------
    path : str or Path
        The store folder to create.
    manifest : pandas.DataFrame
        One row per utterance with :data:`MANIFEST_COLUMNS`, ``dist_<class>`` for every class and
        ``<modality>_len`` for every modality (the number of frames/tokens of each sequence).
    modalities : mapping of str -> iterable of numpy.ndarray
        For each modality, the sequences ``(len, dim)`` in manifest order (a generator is fine:
        they are written one by one into a memory-mapped file).
    classes : sequence of str
        Class codes (the ``dist_*`` columns).
    dims : mapping of str -> int
        Feature dimension of each modality.
    config : mapping
        What produced the features (models, layers, corpus root, ...); stored with its hash.
    corpus : str
        Corpus name, e.g. ``"iemocap"`` or ``"demo"``.
    synthetic : bool
        True for generated data (notebooks then say that its numbers are not IEMOCAP's).
    dtype : str
        Storage dtype of the frames (``float16`` halves the size; ``float32`` for exactness).
    overwrite : bool
        Replace an existing store.

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists (pass overwrite=True to replace it)")
    _check_manifest(manifest, classes, list(modalities), source="manifest")
    with atomic_dir(path) as tmp:
        info_mods = {}
        for mod, seqs in modalities.items():
            lengths = manifest[f"{mod}_len"].to_numpy(dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            arr = np.lib.format.open_memmap(tmp / f"{mod}.npy", mode="w+", dtype=dtype,
                                            shape=(int(offsets[-1]), int(dims[mod])))
            n = 0
            for i, seq in enumerate(seqs):
                if i >= len(lengths):
                    raise StoreError(f"modality {mod!r}: more sequences than manifest rows ({len(lengths)})")
                seq = np.asarray(seq)
                if seq.shape != (lengths[i], dims[mod]):
                    raise StoreError(f"modality {mod!r}, utterance {manifest['utt_id'].iloc[i]}: "
                                     f"shape {seq.shape}, expected ({lengths[i]}, {dims[mod]})")
                if not np.isfinite(seq).all():
                    raise StoreError(f"modality {mod!r}, utterance {manifest['utt_id'].iloc[i]}: NaN or inf values")
                arr[offsets[i]:offsets[i + 1]] = seq
                n += 1
            if n != len(lengths):
                raise StoreError(f"modality {mod!r}: {n} sequences for {len(lengths)} manifest rows")
            arr.flush()
            del arr
            np.save(tmp / f"{mod}_offsets.npy", offsets)
            info_mods[mod] = {"dim": int(dims[mod]), "dtype": dtype, "frames": int(offsets[-1])}
        manifest.to_csv(tmp / "manifest.csv", index=False)
        meta = {
            "format": FORMAT, "version": VERSION, "corpus": corpus, "synthetic": bool(synthetic),
            "classes": list(classes), "n_utterances": int(len(manifest)), "modalities": info_mods,
            "config": dict(config), "config_hash": config_hash(config),
        }
        (tmp / "store.json").write_text(json.dumps(meta, indent=1, default=str))
    return path


def _check_manifest(manifest: pd.DataFrame, classes: Sequence[str], modalities: Sequence[str],
                    source: str) -> None:
    need = list(MANIFEST_COLUMNS) + [f"dist_{c}" for c in classes] + [f"{m}_len" for m in modalities]
    missing = [c for c in need if c not in manifest.columns]
    if missing:
        raise StoreError(f"{source}: missing column(s) {missing}")
    if manifest["utt_id"].duplicated().any():
        dup = manifest.loc[manifest["utt_id"].duplicated(), "utt_id"].iloc[0]
        raise StoreError(f"{source}: utterance {dup!r} appears more than once")
    bad_split = ~manifest["split"].isin(["train", "test"])
    if bad_split.any():
        i = int(np.flatnonzero(bad_split.to_numpy())[0])
        raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): split "
                         f"{manifest['split'].iloc[i]!r}, expected 'train' or 'test'")
    dist = manifest[[f"dist_{c}" for c in classes]].to_numpy(dtype=float)
    off = np.flatnonzero(~np.isfinite(dist).all(1) | (dist < 0).any(1) | (np.abs(dist.sum(1) - 1) > 1e-4))
    if len(off):
        i = int(off[0])
        raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): label distribution "
                         f"{dist[i].round(4).tolist()} is not a distribution over {list(classes)}")
    bad_consensus = ~manifest["consensus"].isin(list(classes))
    if bad_consensus.any():
        i = int(np.flatnonzero(bad_consensus.to_numpy())[0])
        raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): consensus label "
                         f"{manifest['consensus'].iloc[i]!r} is not one of {list(classes)}")
    for m in modalities:
        lens = manifest[f"{m}_len"].to_numpy()
        if (lens < 1).any():
            i = int(np.flatnonzero(lens < 1)[0])
            raise StoreError(f"{source}: row {i} ({manifest['utt_id'].iloc[i]}): {m}_len is {lens[i]}, expected >= 1")


class FeatureStore:
    """A read-only, memory-mapped feature store (see the module docstring for the layout).

    Use :meth:`open`; ``store[i]`` is ``{modality: (T, D) float32 array}`` of utterance ``i``.
    """

    def __init__(self, path: Path, meta: dict[str, Any], manifest: pd.DataFrame,
                 arrays: dict[str, np.ndarray], offsets: dict[str, np.ndarray]) -> None:
        self.path = path
        self.meta = meta
        self.manifest = manifest
        self.arrays = arrays
        self.offsets = offsets

    # -- opening and checking ----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, validate: bool = True) -> "FeatureStore":
        """Open a store, checking its consistency.

        Parameters
        ----------
        path : str or Path
            The store folder.
        validate : bool
            Also scan every frame for NaN/inf (reads the whole arrays once, in chunks).
        """
        path = Path(path)
        meta_path = path / "store.json"
        if not meta_path.is_file():
            hint = " (an unfinished extraction? run the same `pdds extract` again to resume)" \
                if path.with_name(path.name + ".partial").exists() else ""
            raise StoreError(f"{meta_path}: not found; {path} is not a feature store{hint}")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise StoreError(f"{meta_path}: line {err.lineno}: invalid JSON ({err.msg})") from None
        if meta.get("format") != FORMAT:
            raise StoreError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT!r}")
        if meta.get("version") != VERSION:
            raise StoreError(f"{meta_path}: version {meta.get('version')!r}, this pddslib reads version {VERSION}")
        for key in ("classes", "modalities", "n_utterances", "config"):
            if key not in meta:
                raise StoreError(f"{meta_path}: missing field {key!r}")
        classes = meta["classes"]
        mods = meta["modalities"]
        man_path = path / "manifest.csv"
        if not man_path.is_file():
            raise StoreError(f"{man_path}: not found")
        manifest = pd.read_csv(man_path, keep_default_na=False,
                               dtype={"utt_id": str, "major": str, "minor": str, "category": str})
        for col in ("major", "minor"):
            manifest[col] = manifest[col].replace("", None)
        _check_manifest(manifest, classes, list(mods), source=str(man_path))
        if len(manifest) != meta["n_utterances"]:
            raise StoreError(f"{man_path}: {len(manifest)} rows but store.json says n_utterances = {meta['n_utterances']}")
        arrays, offsets = {}, {}
        for mod, info in mods.items():
            a_path, o_path = path / f"{mod}.npy", path / f"{mod}_offsets.npy"
            for p in (a_path, o_path):
                if not p.is_file():
                    raise StoreError(f"{p}: not found (modality {mod!r} is listed in store.json)")
            try:
                arr = np.load(a_path, mmap_mode="r")
                off = np.load(o_path)
            except ValueError as err:
                raise StoreError(f"{a_path} or {o_path}: unreadable ({err})") from None
            if arr.ndim != 2 or arr.shape[1] != info["dim"]:
                raise StoreError(f"{a_path}: shape {arr.shape}, expected (frames, {info['dim']}) as store.json says")
            if off.shape != (len(manifest) + 1,) or off[0] != 0 or (np.diff(off) < 1).any():
                raise StoreError(f"{o_path}: offsets must be {len(manifest) + 1} increasing integers starting at 0")
            if off[-1] != arr.shape[0]:
                raise StoreError(f"{o_path}: last offset {off[-1]} but {a_path.name} has {arr.shape[0]} frames")
            lens = manifest[f"{mod}_len"].to_numpy()
            if not np.array_equal(np.diff(off), lens):
                i = int(np.flatnonzero(np.diff(off) != lens)[0])
                raise StoreError(f"{o_path}: utterance {manifest['utt_id'].iloc[i]} has {np.diff(off)[i]} "
                                 f"frames but manifest.csv says {mod}_len = {lens[i]}")
            if validate:
                step = 1 << 16
                for s in range(0, arr.shape[0], step):
                    chunk = np.asarray(arr[s:s + step], dtype=np.float32)
                    if not np.isfinite(chunk).all():
                        row = s + int(np.flatnonzero(~np.isfinite(chunk).all(1))[0])
                        utt = int(np.searchsorted(off, row, side="right") - 1)
                        raise StoreError(f"{a_path}: NaN or inf in frame {row} (utterance "
                                         f"{manifest['utt_id'].iloc[utt]})")
            arrays[mod], offsets[mod] = arr, off
        return cls(path, meta, manifest, arrays, offsets)

    # -- access -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.manifest)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        return {m: self.sequence(m, i) for m in self.arrays}

    def sequence(self, modality: str, i: int) -> np.ndarray:
        """Frames of utterance ``i`` of one modality, ``(T, D)`` float32."""
        off = self.offsets[modality]
        return np.asarray(self.arrays[modality][off[i]:off[i + 1]], dtype=np.float32)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.meta["classes"])

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(a.shape[1]) for m, a in self.arrays.items()}

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    @property
    def corpus(self) -> str:
        return str(self.meta.get("corpus", "?"))

    def lengths(self, modality: str) -> np.ndarray:
        return np.diff(self.offsets[modality])

    def split_indices(self, split: str) -> np.ndarray:
        """Row indices of ``train`` or ``test`` utterances."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return np.flatnonzero(self.manifest["split"].to_numpy() == split)

    def label_distributions(self) -> np.ndarray:
        """``(N, C)`` training targets (vote distributions)."""
        return self.manifest[[f"dist_{c}" for c in self.classes]].to_numpy(dtype=np.float64)

    def consensus_indices(self) -> np.ndarray:
        """``(N,)`` index of each utterance's consensus label (the test labels)."""
        index = {c: i for i, c in enumerate(self.classes)}
        return self.manifest["consensus"].map(index).to_numpy(dtype=np.int64)

    def cells(self) -> np.ndarray:
        """``(N, 2)`` (major, minor) cells as the vote policy decided (see pddslib.labels)."""
        from ..labels import cells_from_categories

        m = self.manifest
        return cells_from_categories(m["category"].tolist(), m["major"].tolist(), m["minor"].tolist(),
                                     self.classes)

    def info(self) -> dict[str, Any]:
        """The ``pdds info --json`` object."""
        split = self.manifest["split"].value_counts()
        return {
            "n_utterances": len(self),
            "split": {"train": int(split.get("train", 0)), "test": int(split.get("test", 0))},
            "dims": self.dims,
            "config": self.meta["config"],
            "config_hash": self.meta.get("config_hash"),
            "corpus": self.corpus,
            "synthetic": self.synthetic,
            "classes": list(self.classes),
        }

    def summary(self) -> str:
        """One line: corpus, size, split, dimensions."""
        i = self.info()
        dims = ", ".join(f"{m} {d}-d ({self.meta['modalities'][m]['frames']} frames)" for m, d in i["dims"].items())
        tag = " [SYNTHETIC demo data, not IEMOCAP]" if self.synthetic else ""
        return (f"{self.path}: {self.corpus}{tag}, {i['n_utterances']} utterances "
                f"(train {i['split']['train']}, test {i['split']['test']}); {dims}; config {i['config_hash']}")
