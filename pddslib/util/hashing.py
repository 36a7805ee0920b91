"""Hashing files: the one file hasher of pddslib (weights, feature arrays, downloads, wavs)."""

from __future__ import annotations

import hashlib
import os

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


__all__ = ["file_hash"]
