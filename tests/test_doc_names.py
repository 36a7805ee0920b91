"""Every name the docs point a reader to exists: each dotted ``pddslib.…`` path and each ``Class.attr`` of
a pddslib class, in the package's docstrings and comments, the README, the book's pages and the
notebooks (a docstring once sent readers to a ``CountTable.reference`` that never was)."""

from __future__ import annotations

import importlib
import inspect
import re
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((REPO / "pddslib").rglob("*.py")), REPO / "README.md", *sorted((REPO / "book").glob("*.md")),
           *sorted((REPO / "notebooks").glob("*.py"))]


def _module_names() -> list[str]:
    out = []
    for f in sorted((REPO / "pddslib").rglob("*.py")):
        parts = f.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _resolve(dotted: str) -> bool:
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _where(pattern: str) -> dict[str, str]:
    """Each match of ``pattern`` in the sources -> the first file:line it is on."""
    found: dict[str, str] = {}
    for f in SOURCES:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(pattern, line):
                found.setdefault(m.group(0).rstrip("."), f"{f.relative_to(REPO)}:{n}")
    return found


def test_every_dotted_pddslib_name_resolves():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # importing a module to look a name up may warn
        missing = {name: at for name, at in _where(r"\bpddslib(?:\.[A-Za-z_]\w*)+").items() if not _resolve(name)}
    assert not missing, f"names in the docs that do not exist: {missing}"


def test_every_class_attribute_named_exists():
    classes: dict[str, type] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mod in _module_names():
            for name, obj in vars(importlib.import_module(mod)).items():
                if inspect.isclass(obj) and obj.__module__.startswith("pddslib"):
                    classes.setdefault(name, obj)
    assert len(classes) > 40  # the scan sees the package's classes
    named = _where(r"(?<![\w.])([A-Z][A-Za-z0-9]+)\.([a-z_]\w*)")
    missing = {}
    for ref, at in named.items():
        cls, attr = ref.split(".", 1)
        # dataclass fields without a default are instance attributes: look them up in the fields too
        fields = getattr(classes.get(cls), "__dataclass_fields__", {})
        if cls in classes and not hasattr(classes[cls], attr) and attr not in fields:
            missing[ref] = at
    assert not missing, f"class attributes in the docs that do not exist: {missing}"
