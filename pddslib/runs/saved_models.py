"""Saved models: the weights of a finished run, re-scored on a store or applied to one utterance.

A run folder (``$PDDS_CACHE/runs/<key>/``, or a per-run folder ``DIR/models/<name>/`` that
``pdds run --out DIR`` links to it) holds::

    run.json            the run's record (settings, WA/UA, confusion, losses, store, encoders)
    predictions.csv     one row per test utterance
    model.json          the architecture: model name, audio/text dims, classes, overrides, fold,
                        eval batch size, the encoders of the store, and the weights' size + sha256
    model.safetensors   the final weights (a safetensors file; written in the same write-once
                        publish as run.json, so a folder holds all of them or none)

Weights are read with :func:`safetensors.torch.load_file` only: pddslib never unpickles a file
(no ``torch.load``), and a ``model.json`` that names anything but a ``.safetensors`` file in its
folder is refused. A run trained with ``--no-save-model`` (or by an older pddslib) has no
``model.json``; :class:`SavedRun` says so and how to keep the weights (``pdds run ... --recompute``).

:meth:`SavedRun.evaluate` rebuilds the model from ``model.json``, loads the weights and predicts
with :func:`pddslib.runs.training.predict`; on the run's own store and test rows it reproduces the
run's predictions and WA/UA exactly (same device and threads). :meth:`SavedRun.predict_utterance`
extracts features of one wav (and transcript) with the run's recorded encoders, rounded to the
store's dtype as the store holds them, and returns the label distribution.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import MODEL_INPUTS
from ..util.errors import PddsError
from ..util.hashing import file_hash
from ..util.jsonfile import read_object

MODEL_FILE = "model.safetensors"
ARCH_FILE = "model.json"
FORMAT = "pddslib-model"
VERSION = 1
#: Files in a run folder that are copied or linked by :func:`export_run`.
RUN_FILES = ("run.json", "predictions.csv", ARCH_FILE, MODEL_FILE)
#: Suffixes of pickle-based checkpoints, which pddslib never loads.
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")
#: Models that use one modality only (the other input is ignored).
SPLITS = ("test", "train", "all")
_RECOMPUTE_HINT = ("run the same `pdds run` again with --recompute to train it again and keep its weights "
                   "(from Python: run_one(..., recompute=True))")


class SavedModelError(ValueError, PddsError):
    """A saved run cannot be used (the message names the file and what to do)."""




# -- writing (inside the run cache's write-once publish) -------------------------------------------

def encoders_of(store: Any) -> dict[str, Any] | None:
    """The encoders a store's features were extracted with (its config), or None (synthetic data)."""
    cfg = store.meta.get("config", {})
    if store.synthetic or not cfg.get("audio_model"):
        return None
    dtype = cfg.get("dtype") or store.meta["modalities"]["audio"]["dtype"]
    return {"audio_model": cfg["audio_model"], "audio_layer": cfg.get("audio_layer", "cnn"),
            "text_model": cfg.get("text_model"), "dtype": dtype}


def architecture(spec: Any, store: Any) -> dict[str, Any]:
    """What rebuilds a run's model (``model.json`` without the weights' size and hash)."""
    return {"format": FORMAT, "version": VERSION, "model": spec.model,
            "audio_dim": int(store.dims["audio"]), "text_dim": int(store.dims.get("text", 1)),
            "n_classes": len(store.classes), "classes": list(store.classes),
            "overrides": dict(spec.model_overrides), "fold": spec.fold,
            "eval_batch_size": int(spec.train.eval_batch_size), "amp": bool(spec.train.amp),
            "encoders": encoders_of(store), "store_fingerprint": store.fingerprint, "weights": MODEL_FILE}


def build_from(arch: dict[str, Any]) -> Any:
    """A fresh (untrained) model of an architecture: what training builds and loading rebuilds."""
    from ..models import build_model

    return build_model(arch["model"], audio_dim=int(arch["audio_dim"]), text_dim=int(arch["text_dim"]),
                       n_classes=int(arch["n_classes"]), **dict(arch["overrides"]))


def write_model(folder: Path, model: Any, arch: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``model.json`` into ``folder`` (a run's temporary folder)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    path = Path(folder) / MODEL_FILE
    # One metadata entry, not two: safetensors keeps metadata in a hash map whose order changes
    # from process to process, so two entries made the same weights differ in their file bytes
    # (and in model.json's sha256) from one run to the next.
    save_file(tensors, str(path), metadata={FORMAT: str(arch["model"])})
    meta = dict(arch, bytes=path.stat().st_size, sha256=file_hash(path))
    (Path(folder) / ARCH_FILE).write_text(json.dumps(meta, indent=1))


def has_model(folder: str | os.PathLike) -> bool:
    """Whether a run folder holds saved weights."""
    return (Path(folder) / ARCH_FILE).is_file()


def damage(folder: Path) -> str | None:
    """What is wrong with a run folder's saved model, if anything (cheap: sizes, not hashes)."""
    arch_path, weights = folder / ARCH_FILE, folder / MODEL_FILE
    if not arch_path.exists():
        return f"{MODEL_FILE} without {ARCH_FILE}" if weights.exists() else None
    try:
        arch = json.loads(arch_path.read_text())
        size = int(arch["bytes"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        return f"{ARCH_FILE}: unreadable ({err})"
    if not weights.is_file():
        return f"{MODEL_FILE}: missing"
    if weights.stat().st_size != size:
        return f"{MODEL_FILE}: {weights.stat().st_size} bytes, {ARCH_FILE} says {size}"
    return None


def export_run(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Make a cached run reachable at ``dest`` (hard links where possible, else copies; swapped in whole)."""
    from ..util.atomic import atomic_dir, link_or_copy

    src, dest = Path(src), Path(dest)
    with atomic_dir(dest, replace=True) as tmp:
        for name in RUN_FILES:
            if (src / name).is_file():
                link_or_copy(src / name, tmp / name)
    return dest


# -- reading -----------------------------------------------------------------------------------------

def _read_json(path: Path) -> dict[str, Any]:
    return read_object(path, SavedModelError)


@dataclass
class SavedRun:
    """A run folder with saved weights; open one with :meth:`open`."""

    folder: Path
    record: dict[str, Any]
    arch: dict[str, Any]

    @classmethod
    def open(cls, path: str | os.PathLike) -> SavedRun:
        """Open a run folder (a run-cache entry or ``DIR/models/<name>`` of ``pdds run --out DIR``).

        Raises
        ------
        SavedModelError
            Not a run folder, a run saved without weights, a damaged or non-safetensors model
            (the message names the file and what to do).
        """
        folder = Path(path)
        if not folder.is_dir():
            raise SavedModelError(f"{folder}: no such run folder")
        if not (folder / "run.json").is_file():
            runs = sorted(p.name for p in (folder / "models").iterdir() if p.is_dir() and not p.name.startswith(".")) \
                if (folder / "models").is_dir() else []
            if runs:
                raise SavedModelError(f"{folder}: a `pdds run --out` folder; give one of its runs, e.g. "
                                      f"{folder / 'models' / runs[0]} ({len(runs)} in {folder / 'models'})")
            raise SavedModelError(f"{folder}: not a run folder (no run.json); give a folder of "
                                  f"$PDDS_CACHE/runs or DIR/models/<run> of `pdds run --out DIR`")
        record = _read_json(folder / "run.json")
        arch_path = folder / ARCH_FILE
        if not arch_path.is_file():
            pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
            if pickles:
                raise SavedModelError(f"{folder}: no {ARCH_FILE}/{MODEL_FILE}; {', '.join(pickles)} "
                                      f"{'is a pickle file' if len(pickles) == 1 else 'are pickle files'}, which "
                                      f"pddslib never loads (safetensors only)")
            raise SavedModelError(f"{folder}: this run was saved without its model (trained with --no-save-model "
                                  f"or by an older pddslib); {_RECOMPUTE_HINT}")
        arch = _read_json(arch_path)
        need = ("format", "model", "audio_dim", "text_dim", "n_classes", "classes", "overrides", "weights")
        missing = [k for k in need if k not in arch]
        if arch.get("format") != FORMAT or missing:
            raise SavedModelError(f"{arch_path}: not a pddslib model description (format {arch.get('format')!r}"
                                  + (f", missing {', '.join(missing)}" if missing else "") + ")")
        weights = str(arch["weights"])
        if weights != Path(weights).name or not weights.endswith(".safetensors"):
            raise SavedModelError(f"{arch_path}: weights {weights!r}: pddslib loads model weights only from a "
                                  f".safetensors file in the run folder, never pickle")
        if not (folder / weights).is_file():
            raise SavedModelError(f"{folder / weights}: missing; {_RECOMPUTE_HINT}")
        return cls(folder, record, arch)

    # -- the model ---------------------------------------------------------------------------------
    @property
    def weights_path(self) -> Path:
        return self.folder / str(self.arch["weights"])

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.arch["classes"])

    def load_weights(self) -> dict[str, Any]:
        """The weights as tensors (``safetensors.torch.load_file``), checked against ``model.json``."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.weights_path
        size, sha = self.arch.get("bytes"), self.arch.get("sha256")
        if size is not None and path.stat().st_size != size:
            raise SavedModelError(f"{path}: {path.stat().st_size} bytes, {ARCH_FILE} says {size} (truncated or "
                                  f"replaced); {_RECOMPUTE_HINT}")
        if sha is not None and file_hash(path) != sha:
            raise SavedModelError(f"{path}: content differs from the sha256 in {ARCH_FILE}; {_RECOMPUTE_HINT}")
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as err:
            raise SavedModelError(f"{path}: not a readable safetensors file ({err})") from None

    def build_model(self, device: Any = "cpu") -> Any:
        """The model of ``model.json`` with the saved weights, on ``device``."""
        model = build_from(self.arch)
        try:
            model.load_state_dict(self.load_weights(), strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise SavedModelError(f"{self.weights_path}: the weights do not fit the model of {ARCH_FILE} "
                                  f"({first})") from None
        return model.to(device)

    # -- scoring a store ---------------------------------------------------------------------------
    def check_store(self, store: Any) -> None:
        """A store the model can score: the model's classes and feature dimensions."""
        where = self.folder / ARCH_FILE
        if tuple(store.classes) != self.classes:
            raise SavedModelError(f"{store.path}: classes {list(store.classes)} differ from the model's "
                                  f"{list(self.classes)} ({where})")
        want = {"audio": int(self.arch["audio_dim"]), "text": int(self.arch["text_dim"])}
        got = {m: store.dims.get(m) for m in want}
        if "text" not in store.dims and want["text"] == 1:  # an audio-only store (text is a 1-d placeholder)
            got["text"] = 1
        if got != want:
            show = lambda d: ", ".join(f"{m} {v}-d" if v else f"no {m}" for m, v in d.items())  # noqa: E731
            raise SavedModelError(f"{store.path}: features {show(got)} differ from the model's {show(want)} ({where})")

    def rows(self, store: Any, split: str = "test") -> np.ndarray:
        """Store rows of ``split`` under the run's protocol (its fold, else the store's split column).

        ``test``: the run's test rows; ``train``: its training rows (validation rows included);
        ``all``: every utterance.
        """
        from .splits import fold_rows

        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        if split == "all":
            return np.arange(len(store))
        train, test = fold_rows(store.manifest, self.arch.get("fold"), str(store.path))
        return test if split == "test" else train

    def evaluate(self, store: Any, split: str = "test", device: Any = "cpu") -> tuple[dict[str, Any], pd.DataFrame]:
        """Re-score the saved model on a store.

        Returns
        -------
        metrics : dict
            ``wa, ua, recall, confusion, classes, split, n, store, store_fingerprint, run, key``
            and ``same_as_run``: on the run's own store and test rows, whether WA and UA equal the
            run's (None elsewhere).
        predictions : pandas.DataFrame
            ``utt_id, consensus, pred, p_<class>...``, as the run's ``predictions.csv``.
        """
        from ..util.device import resolve_device
        from .metrics import evaluate, predictions_frame
        from .training import feature_banks, predict

        self.check_store(store)
        rows = self.rows(store, split)
        if len(rows) == 0:
            raise ValueError(f"{store.path}: no {split} utterance under this run's protocol")
        dev = resolve_device(device)
        model = self.build_model(dev)
        probs = predict(model, feature_banks(store, dev), rows, batch_size=int(self.arch.get("eval_batch_size", 256)),
                        amp=bool(self.arch.get("amp", False)))
        truth = store.consensus_indices()[rows]
        metrics = evaluate(probs, truth, store.classes)
        same_store = store.fingerprint == self.record.get("store_fingerprint")
        same = None
        if split == "test" and same_store:
            same = (metrics["wa"], metrics["ua"]) == (self.record.get("wa"), self.record.get("ua"))
        out = {"run": str(self.folder), "key": self.record.get("key"), "model": self.arch["model"],
               "fold": self.arch.get("fold"), "store": str(store.path), "store_fingerprint": store.fingerprint,
               "split": split, "n": int(len(rows)), "classes": list(store.classes), **metrics,
               "same_as_run": same, "device": str(dev)}
        return out, predictions_frame(store, probs, rows)

    # -- one utterance -----------------------------------------------------------------------------
    def encoders(self, store: Any = None) -> dict[str, Any]:
        """The recorded encoders (or those of ``store``'s config); an error for synthetic features."""
        enc = encoders_of(store) if store is not None else self.arch.get("encoders")
        if not enc:
            what = f"{store.path} holds" if store is not None else f"{self.folder} was trained on"
            raise SavedModelError(f"{what} synthetic demo features (no encoders); predict needs a run trained "
                                  f"on features extracted by `pdds extract`")
        return enc

    def uses(self, modality: str) -> bool:
        return modality in MODEL_INPUTS[self.arch["model"]]

    def features(self, wav: str | os.PathLike, text: str | None, *, device: Any = "cpu",
                 store: Any = None, audio_model: str | None = None,
                 text_model: str | None = None) -> dict[str, np.ndarray]:
        """Features of one utterance as the store holds them: ``{"audio": (T, D), "text": (n, D)}`` float32.

        Extracted with the run's encoders (``audio_model``/``text_model`` override their paths),
        then rounded to the store's dtype. Without ``text`` a model that ignores text gets one
        zero frame; a model that uses it is an error.
        """
        from ..features.audio import AudioEncoder, read_wav
        from ..features.text import TextEncoder
        from ..util.device import resolve_device

        enc = self.encoders(store)
        dev = resolve_device(device)
        dtype = np.dtype(enc.get("dtype") or "float32")
        audio = AudioEncoder.from_pretrained(audio_model or enc["audio_model"], layer=enc.get("audio_layer", "cnn"),
                                             device=dev)
        wave, _ = read_wav(wav)
        if len(wave) < audio.min_samples:
            raise ValueError(f"{wav}: {len(wave)} samples at 16 kHz, shorter than the audio model's receptive "
                             f"field ({audio.min_samples} samples)")
        feats = {"audio": audio([wave])[0]}
        if text is None:
            if self.uses("text"):
                raise ValueError(f"model {self.arch['model']} uses the transcript: give the text (an empty text "
                                 f"gives the [CLS] vector, as extraction stores an empty transcript)")
            feats["text"] = np.zeros((1, int(self.arch["text_dim"])), dtype=np.float32)
        else:
            if not (text_model or enc.get("text_model")):
                raise SavedModelError(f"{self.folder / ARCH_FILE}: no text model recorded; give one")
            feats["text"] = TextEncoder.from_pretrained(text_model or enc["text_model"], device=dev)([text])[0]
        for m, dim in (("audio", self.arch["audio_dim"]), ("text", self.arch["text_dim"])):
            if feats[m].shape[1] != int(dim):
                raise SavedModelError(f"{m} encoder gives {feats[m].shape[1]}-d features; the model of "
                                      f"{self.folder / ARCH_FILE} expects {dim}-d")
        return {m: np.asarray(f, dtype=dtype).astype(np.float32) for m, f in feats.items()}

    def predict_features(self, feats: dict[str, np.ndarray], device: Any = "cpu") -> dict[str, float]:
        """The label distribution of one utterance's features: ``{class: probability}``."""
        from ..util.device import resolve_device
        from .training import SequenceBank, predict

        dev = resolve_device(device)
        model = self.build_model(dev)
        banks = {m: SequenceBank(f, np.array([0, len(f)]), dev) for m, f in feats.items()}
        probs = predict(model, banks, np.array([0]), amp=bool(self.arch.get("amp", False)))[0]
        return {c: float(p) for c, p in zip(self.classes, probs)}

    def predict_utterance(self, wav: str | os.PathLike, text: str | None = None, *, device: Any = "cpu",
                          store: Any = None, audio_model: str | None = None,
                          text_model: str | None = None) -> dict[str, float]:
        """Extract one utterance's features with the run's encoders and predict its label distribution."""
        feats = self.features(wav, text, device=device, store=store, audio_model=audio_model, text_model=text_model)
        return self.predict_features(feats, device)


def open_run(path: str | os.PathLike) -> SavedRun:
    """:meth:`SavedRun.open`."""
    return SavedRun.open(path)


#: How many characters of a run's key end its folder name under ``DIR/models`` and ``DIR/predictions``.
KEY_CHARS = 8


def run_folder_name(record: dict[str, Any], legacy: bool = False) -> str:
    """``cltnet-pdds-seed0-1a2b3c4d`` (``cltnet-pdds-fold3-seed0-...`` for a LOSO fold): a run's name
    under ``DIR/models`` and ``DIR/predictions`` of ``pdds run --out DIR``, ending with the first
    :data:`KEY_CHARS` characters of its key, so that runs of other settings never share a name.

    ``legacy``: the name without the key (``cltnet-pdds-seed0``), as pddslib wrote it before; still
    read where a folder written then is read (``pdds power``).
    """
    fold = record.get("fold")
    fold = "" if fold is None or (isinstance(fold, float) and np.isnan(fold)) else f"-fold{int(fold)}"
    name = f"{record['model']}-{record['strategy']}{fold}-seed{int(record['seed'])}"
    return name if legacy else f"{name}-{str(record['key'])[:KEY_CHARS]}"


def format_distribution(probs: dict[str, float], order: Sequence[str] | None = None) -> str:
    """``hap 0.412`` lines, then ``prediction: hap``."""
    order = list(order or probs)
    lines = [f"{c} {probs[c]:.4f}" for c in order]
    lines.append(f"prediction: {max(probs, key=probs.get)}")
    return "\n".join(lines)


__all__ = ["ARCH_FILE", "KEY_CHARS", "MODEL_FILE", "SavedModelError", "SavedRun", "architecture", "build_from",
           "damage", "encoders_of", "export_run", "format_distribution", "has_model", "open_run", "run_folder_name",
           "write_model"]
