"""Hashing: the one file hasher of pddslib (weights, feature arrays, downloads, wavs) and the one
configuration hash (store configs, extraction inputs, run keys, cache folders)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

CHUNK = 1 << 22  # read 4 MiB at a time: files of any size in constant memory


def file_hash(path: str | os.PathLike, algorithm: str = "sha256", **params: int) -> str:
    """The hex digest of a file's bytes.

    Parameters
    ----------
    path : path-like
    algorithm : str
        A :func:`hashlib.new` name: ``"sha256"`` (weights, arrays, downloads) or ``"blake2b"``
        (with ``digest_size=16``: wav contents, which are many and only compared with each other).
    **params
        Passed to :func:`hashlib.new` (e.g. ``digest_size``).
    """
    h = hashlib.new(algorithm, **params)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-serialisable configuration.

    The first 16 hex digits of the SHA-256 of its JSON text (keys sorted, no spaces; values JSON
    cannot hold are written with ``str``). Run keys and cached folders are named by it: its
    output must never change.
    """
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


__all__ = ["config_hash", "file_hash"]
