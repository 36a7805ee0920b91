"""The package's layout holds: wings by layer with no import circle, small rooms, and the method
importable without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pddslib"
TESTS = Path(__file__).resolve().parent


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
