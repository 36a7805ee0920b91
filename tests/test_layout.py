"""The package's layout holds: wings by layer, each importing only the wings its row of the
developers page's table allows, with no import circle; small rooms; and the method importable
without torch."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pddslib"
TESTS = Path(__file__).resolve().parent
DEVELOPERS = PACKAGE.parent / "book" / "developers.md"
#: What the package itself (pddslib/__init__.py: ``from pddslib import PDDS``, ``__version__``)
#: imports; a wing may import it when it may import these.
ROOT_IMPORTS = {"pdds", "util"}


def _modules() -> dict[str, Path]:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """pddslib modules that ``name`` imports, at module level or inside functions."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                out.add(f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in modules else mod)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in modules and m != name}


def _wing(module: str) -> str:
    """``pddslib.corpora.demo`` -> ``corpora``; ``pddslib.config`` -> ``config``; ``pddslib`` itself -> ``pddslib``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "pddslib"
    return "cli" if parts[1] == "__main__" else parts[1]  # python -m pddslib is the pdds command


def _wing_table() -> tuple[list[str], dict[str, set[str]], dict[str, str]]:
    """The developers page's wing table: the wings in row order, wing -> the wings it may import,
    and wing -> its row's "may import" text (for messages).

    The text is read item by item (commas, "and"; remarks in parentheses skipped): a wing's name,
    "everything above" or "every wing above it" (the rows above), "everything", or "the standard
    library" and "numpy" (no wing); anything else fails, so that the page and this test cannot drift.
    """
    rows = []
    for line in DEVELOPERS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `pddslib/") and len(cells) == 3:
            rows.append((re.findall(r"`pddslib/(\w+)(?:/|\.py)`", cells[0]), cells[2]))
    order = [w for wings, _ in rows for w in wings]
    allowed: dict[str, set[str]] = {}
    text: dict[str, str] = {}
    for k, (wings, may_import) in enumerate(rows):
        above = {w for ws, _ in rows[:k] for w in ws}
        may: set[str] = set()
        for item in re.split(r",\s*|\s+and\s+", re.sub(r"\([^)]*\)", "", may_import)):
            item = item.strip()
            if item in order:
                may.add(item)
            elif item in ("everything above", "every wing above it"):
                may |= above
            elif item == "everything":
                may |= set(order) - set(wings)
            elif item not in ("the standard library", "numpy"):
                raise AssertionError(f"{DEVELOPERS}: the wing table says {wings} may import {item!r}, "
                                     f"which tests/test_layout.py does not read (name wings, 'everything above', ...)")
        for w in wings:
            allowed[w], text[w] = may, may_import
    return order, allowed, text


def _against_the_table() -> list[str]:
    """Every import (module level or inside a function) that goes to a wing its row does not allow."""
    order, allowed, text = _wing_table()
    modules = _modules()
    bad = []
    for m, f in sorted(modules.items()):
        a = _wing(m)
        may = ROOT_IMPORTS if a == "pddslib" else allowed[a]
        for n in sorted(_imports(m, f, modules)):
            b = _wing(n)
            if b == a or b in may or (b == "pddslib" and ROOT_IMPORTS <= may | {a}):
                continue
            rule = f"pddslib/__init__.py may import {sorted(ROOT_IMPORTS)}" if a == "pddslib" else \
                f"{a} may import {text[a]!r}"
            bad.append(f"{m} imports {n} ({b}): the wing table says {rule}")
    return bad


def test_the_wing_table_names_every_wing_and_allows_no_circle():
    order, allowed, _ = _wing_table()
    assert sorted(order) == sorted({_wing(m) for m in _modules()} - {"pddslib"}), \
        f"{DEVELOPERS}: the wing table's rows {order} are not the package's wings"
    state: dict[str, int] = {}

    def visit(w: str, path: list[str]) -> None:
        state[w] = 1
        for v in sorted(allowed[w]):
            assert state.get(v) != 1, f"{DEVELOPERS}: the wing table allows a circle: " + " -> ".join(path + [w, v])
            if v not in state:
                visit(v, path + [w])
        state[w] = 2

    for w in order:
        if w not in state:
            visit(w, [])


def test_each_wing_imports_only_what_its_row_allows():
    bad = _against_the_table()
    assert not bad, f"imports against the wing table of {DEVELOPERS.name}:\n" + "\n".join(bad)


def test_no_import_circle():
    modules = _modules()
    graph = {m: _imports(m, f, modules) for m, f in modules.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(n):] + [m, n]))
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_small_rooms():
    entries = [p.name for p in PACKAGE.iterdir() if p.name not in ("__init__.py", "__main__.py", "__pycache__")]
    assert len(entries) <= 10, sorted(entries)
    for f in PACKAGE.rglob("*.py"):
        text = f.read_text()
        assert len(text.splitlines()) <= 600, f"{f}: {len(text.splitlines())} lines"
        assert text.startswith('"""'), f"{f}: opens without a line saying what it is for"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 80, f"{f}:{node.lineno}: {node.name} is over 80 lines"
    for f in TESTS.glob("*.py"):
        assert len(f.read_text().splitlines()) <= 800, f"{f}: over 800 lines"
    for f in (TESTS.parent / "benchmarks").glob("*.py"):  # the benchmark scripts are rooms too
        assert len(f.read_text().splitlines()) <= 800, f"{f}: over 800 lines"


def test_the_method_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
            "import pddslib.pdds, pddslib; from pddslib import PDDS; from pddslib.pdds import make_resampler\n"
            "print(make_resampler('pdds').__class__.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "PDDS"
