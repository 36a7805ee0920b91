"""What the fault-injection tests share: the :class:`Fault` table rows, tiny stores and runs, helpers.

The suite itself (one file per subject): ``test_faults_stores.py``, ``test_faults_cli.py``,
``test_faults_cache.py``, ``test_faults_extraction.py``. Each section is a table of rows run by one
parametrized test; every malformed input ends in one error, on one line, that names the file (and
the row and column where it applies) and says what was expected.
"""


from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_store import write

from pddslib.features.store import StoreError

# -- helpers -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """One corruption and the error it must end in.

    ``corrupt(path)`` damages the object at ``path`` (a store folder, ...); the error must be an
    ``error`` whose message names ``file`` (relative to ``path``; None: the message starts with the
    ``prefix`` instead) and matches the regular expression ``match``.
    """

    id: str
    corrupt: Callable[[Path], None]
    file: str | None
    match: str
    error: type[BaseException] = StoreError
    prefix: str = ""


def expect_fault(fault: Fault, path: Path, action: Callable[[], object]) -> str:
    """Run ``action`` and check that it fails as ``fault`` says; returns the message."""
    with pytest.raises(fault.error) as info:
        action()
    msg = str(info.value)
    where = str(path / fault.file) if fault.file is not None else fault.prefix
    assert msg.startswith(f"{where}: "), f"the message does not start with {where!r}: {msg}"
    assert re.search(fault.match, msg), f"{fault.match!r} not in: {msg}"
    assert "\n" not in msg, f"not one line: {msg}"
    return msg


def params(table: list[Fault]) -> list:
    return [pytest.param(f, id=f.id) for f in table]


# corruptions of store files

def truncate(name: str, keep: float) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: int(len(data) * keep)])
    return f


def overwrite_bytes(name: str, data: Callable[[int], bytes]) -> Callable[[Path], None]:
    """Replace a file's bytes by ``data(size)`` (size: the current size)."""
    def f(path: Path) -> None:
        (path / name).write_bytes(data((path / name).stat().st_size))
    return f


def save_npy(name: str, convert: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        np.save(path / name, convert(np.load(path / name)))
    return f


def flip_value(name: str) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        arr = np.load(path / name, mmap_mode="r+")
        arr[1, 0] = -arr[1, 0] + 1.0
        arr.flush()
    return f


def edit_meta(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        meta = json.loads((path / "store.json").read_text())
        edit(meta)
        (path / "store.json").write_text(json.dumps(meta, indent=1))
    return f


def set_meta(text: str | bytes) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        (path / "store.json").write_bytes(text.encode() if isinstance(text, str) else text)
    return f


def edit_manifest(edit: Callable[[pd.DataFrame], object]) -> Callable[[Path], None]:
    """Edit manifest.csv as text cells (what a spreadsheet or a script would write)."""
    def f(path: Path) -> None:
        m = pd.read_csv(path / "manifest.csv", dtype=str, keep_default_na=False)
        edit(m)
        m.to_csv(path / "manifest.csv", index=False)
    return f


def set_cell(row: int, col: str, value: str) -> Callable[[Path], None]:
    return edit_manifest(lambda m: m.__setitem__(col, m[col].where(m.index != row, value)))


def set_manifest(data: bytes) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        (path / "manifest.csv").write_bytes(data)
    return f


def header_only(path: Path) -> None:
    (path / "manifest.csv").write_text((path / "manifest.csv").read_text().splitlines()[0] + "\n")


def extra_field(path: Path) -> None:
    lines = (path / "manifest.csv").read_text().splitlines()
    lines[3] += ",surplus"
    (path / "manifest.csv").write_text("\n".join(lines) + "\n")


def remove(name: str) -> Callable[[Path], None]:
    def f(path: Path) -> None:
        (path / name).unlink()
    return f


def as_version_1(corrupt: Callable[[Path], None]) -> Callable[[Path], None]:
    """The same corruption of a version-1 store (no fingerprint to compare sizes with)."""
    def f(path: Path) -> None:
        edit_meta(lambda meta: (meta.pop("fingerprint"), meta.__setitem__("version", 1)))(path)
        corrupt(path)
    return f



@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("faults") / "store")[0]



# == shared by the sections below ==========================================================================

REPO = Path(__file__).resolve().parents[1]
SMALL = (("d1", 16), ("d2", 8), ("d", 8), ("n_layers", 1), ("n_heads", 1), ("ff_dim", 16))


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder under ``folder``: mode, and for files modification time and sha256."""
    out: dict[str, tuple] = {}
    if not folder.exists():
        return out
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(folder))] = ((st.st_mode, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
                                           if p.is_file() else (st.st_mode,))
    return out


def leftovers(*folders: Path) -> list[str]:
    """Temporary folders (``*.tmp``, ``*.old``) and ``.partial`` folders left in ``folders``."""
    return sorted(str(p) for f in folders if f.exists() for p in f.iterdir()
                  if p.name.endswith((".tmp", ".old", ".partial")))


def child_env(tmp_path: Path) -> dict[str, str]:
    """A child process's environment: this worktree first, a private cache, offline, one thread."""
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PDDS_CACHE=str(tmp_path / "child-cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


class single_thread:
    """One torch thread (module fixtures: the function-scoped ``one_thread`` cannot wrap them)."""

    def __enter__(self):
        import torch

        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.n)


#: How errors name the third utterance of the tiny store.
UTT3 = r"\(Ses04F_impro01_F003\)"


@pytest.fixture(scope="module")
def cli_tree(tmp_path_factory) -> Path:
    """A 2-session IEMOCAP-format tree with short wavs (sessions 1 and 5: 12 six-class utterances)."""
    for module in ("soundfile", "torch", "transformers"):
        pytest.importorskip(module)
    from iemocap_fixture import small_release, write_tree

    return write_tree(tmp_path_factory.mktemp("iemocap"), [u for u in small_release() if u.session in (1, 5)])
