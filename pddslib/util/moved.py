"""Old import paths of modules that moved into the wings keep working, with a FutureWarning.

``import pddslib.runner`` (or ``from pddslib.torch import PDDSDataset``) gives a module that looks
each name up in the module(s) it moved to, so code written for the flat layout runs unchanged.
Names that left a module that stays (:data:`MOVED_NAMES`: the demo-store builders, which moved up
from ``pddslib.corpora`` to ``pddslib.features``) are looked up the same way, by
:func:`names_getattr`. These forwards name their targets as strings, so that a wing's code never
imports a wing below it (``tests/test_layout.py``); they are for old code only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any, Callable

#: old module -> the modules its public names now live in (searched in order)
MOVED: dict[str, tuple[str, ...]] = {
    "pddslib.labels": ("pddslib.pdds.labels", "pddslib.corpora.iemocap"),
    "pddslib.counts": ("pddslib.pdds.counts",),
    "pddslib.smoothing": ("pddslib.pdds.smoothing",),
    "pddslib.mixup": ("pddslib.pdds.mixup",),
    "pddslib.item_mixup": ("pddslib.pdds.mixup",),
    "pddslib.provenance": ("pddslib.pdds.provenance",),
    "pddslib.resample": ("pddslib.pdds.resample", "pddslib.pdds.registry", "pddslib.pdds.mixup"),
    "pddslib.resample_io": ("pddslib.pdds.inputs",),
    "pddslib.controls": ("pddslib.pdds.controls",),
    "pddslib.torch": ("pddslib.pdds.dataset",),
    "pddslib.votes": ("pddslib.corpora.votes",),
    "pddslib.runner": ("pddslib.runs.corpus", "pddslib.runs.cache", "pddslib.runs.one", "pddslib.runs.sweep",
                       "pddslib.config"),
    "pddslib.training": ("pddslib.runs.training",),
    "pddslib.parallel": ("pddslib.runs.workers",),
    "pddslib.saved": ("pddslib.runs.saved_models",),
    "pddslib.splits": ("pddslib.runs.splits",),
    "pddslib.metrics": ("pddslib.runs.metrics",),
    "pddslib.experiments": ("pddslib.paper.experiments",),
    "pddslib.readings": ("pddslib.paper.readings", "pddslib.paper.readings_views"),
    "pddslib.significance": ("pddslib.paper.significance", "pddslib.paper.conditional"),
    "pddslib.plots": ("pddslib.paper.plots",),
    "pddslib.notebook": ("pddslib.paper.parameters", "pddslib.paper.views", "pddslib.paper.stats_views",
                         "pddslib.util.formats"),
    "pddslib.atomic": ("pddslib.util.atomic",),
    "pddslib.cache": ("pddslib.util.locations",),
    "pddslib.jsonfile": ("pddslib.util.jsonfile",),
    "pddslib.device": ("pddslib.util.device",),
}


def _format_pm(mean: float, std: float, scale: float = 100.0, digits: int = 1) -> str:
    from .formats import pm

    return pm(mean, std, digits, scale=scale)


#: names that were renamed on the way
RENAMED: dict[str, dict[str, Any]] = {"pddslib.runner": {"format_pm": _format_pm}}


#: module that stays -> {old name: "new.module:new_name"}
MOVED_NAMES: dict[str, dict[str, str]] = {
    "pddslib.corpora.demo": {"write_store": "pddslib.features.demo_stores:write_demo_store",
                             "ensure_store": "pddslib.features.demo_stores:ensure_demo_store",
                             "cache_dir": "pddslib.features.demo_stores:demo_cache_dir"},
    "pddslib.corpora.crema_d_demo": {"ensure_store": "pddslib.features.demo_stores:ensure_crema_d_demo_store"},
}


def moved(old: str, target: str, stacklevel: int = 3) -> Any:
    """The object at ``target`` (``"module:name"``), warning that ``old`` moved there."""
    module, name = target.split(":")
    warnings.warn(f"{old} moved to {module}.{name}; use it from there (the old name will go)", FutureWarning,
                  stacklevel=stacklevel)
    return getattr(importlib.import_module(module), name)


def names_getattr(module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``module``: its names in :data:`MOVED_NAMES`, forwarded."""
    def __getattr__(name: str) -> Any:
        if name not in MOVED_NAMES[module]:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return moved(f"{module}.{name}", MOVED_NAMES[module][name])

    return __getattr__


class _Moved(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in RENAMED.get(self.__name__, {}):
            return RENAMED[self.__name__][name]
        for target in MOVED[self.__name__]:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} (moved to {', '.join(MOVED[self.__name__])}) "
                             f"has no attribute {name!r}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> types.ModuleType:
        new = ", ".join(MOVED[spec.name])
        warnings.warn(f"{spec.name} moved to {new}; import from there (the old path will go)", FutureWarning,
                      stacklevel=2)
        module = _Moved(spec.name, f"moved to {new}")
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def install() -> None:
    """Put the finder of old paths on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
