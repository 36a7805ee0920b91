"""Plumbing shared by every wing: atomic files and folders, hashing, JSON files, device choice,
the cache location, number formats, the errors' base. Imports nothing else from pddslib."""

from .atomic import atomic_dir, link_or_copy, publish_once, remove_dir
from .device import resolve_device
from .errors import PddsError
from .formats import p_text, pm
from .hashing import config_hash, file_hash
from .jsonfile import read_object
from .locations import cache_path, cache_root

__all__ = ["PddsError", "atomic_dir", "cache_path", "cache_root", "config_hash", "file_hash", "link_or_copy", "p_text",
           "pm", "publish_once", "read_object", "remove_dir", "resolve_device"]
