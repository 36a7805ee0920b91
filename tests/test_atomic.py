"""Atomic folders: write-once races, replacing under a reader, umask modes, sweeping orphans."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pddslib.util import atomic
from pddslib.util.atomic import atomic_dir, publish_once, remove_dir, sweep_orphans, temp_dir_name

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and modes")
FORK = mp.get_context("fork")
FILES = ("a.txt", "b.txt", "c.txt")


def _fill(tmp: Path, tag: str, pause: float = 0.0) -> None:
    for i, name in enumerate(FILES):
        (tmp / name).write_text(tag)
        if pause and i == 0:
            time.sleep(pause)


def _complete(folder: Path) -> bool:
    """All files present, all from the same writer."""
    texts = {(folder / n).read_text() for n in FILES}
    return sorted(os.listdir(folder)) == list(FILES) and len(texts) == 1


def _leftovers(parent: Path) -> list[str]:
    return sorted(n for n in os.listdir(parent) if atomic._TEMP.match(n))


def _race_publish(target: str, barrier, errors, built) -> None:
    def build(tmp: Path) -> None:
        built.put(os.getpid())
        _fill(tmp, str(os.getpid()), pause=0.002)

    try:
        barrier.wait(5)
        publish_once(target, build)
        if not _complete(Path(target)):
            errors.put(f"{os.getpid()}: incomplete {os.listdir(target)}")
    except BaseException as err:  # noqa: BLE001 - reported to the parent
        errors.put(f"{os.getpid()}: {type(err).__name__}: {err}")


def test_two_processes_racing_publish_once(tmp_path):
    errors, built = FORK.Queue(), FORK.Queue()
    both_built = 0
    for k in range(30):
        target = tmp_path / f"run{k}"
        barrier = FORK.Barrier(2)
        procs = [FORK.Process(target=_race_publish, args=(str(target), barrier, errors, built)) for _ in range(2)]
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):  # a reader sees nothing or the complete folder
            if target.exists():
                assert _complete(target)
        for p in procs:
            p.join(10)
            assert p.exitcode == 0
        assert errors.empty(), errors.get()
        assert _complete(target) and (target / "a.txt").read_text() in {str(p.pid) for p in procs}
        n_built = 0
        while not built.empty():
            built.get()
            n_built += 1
        both_built += n_built == 2
    assert both_built >= 5  # the race happened: both built, one copy was discarded
    assert sorted(os.listdir(tmp_path)) == sorted(f"run{k}" for k in range(30))  # one copy each, no temp folder


def test_publish_once_keeps_the_published_folder_and_cleans_up_after_errors(tmp_path):
    target = tmp_path / "t"
    assert publish_once(target, lambda tmp: _fill(tmp, "first")) == target
    assert publish_once(target, lambda tmp: _fill(tmp, "second")) == target
    assert (target / "a.txt").read_text() == "first"

    def broken(tmp: Path) -> None:
        _fill(tmp, "x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish_once(tmp_path / "u", broken)
    assert os.listdir(tmp_path) == ["t"]


def _replace_many(target: str, n: int) -> None:
    for i in range(n):
        with atomic_dir(target) as tmp:
            _fill(tmp, str(i))


def test_a_reader_never_sees_a_replaced_folder_missing(tmp_path):
    target = tmp_path / "store"
    _replace_many(str(target), 1)
    writer = FORK.Process(target=_replace_many, args=(str(target), 300))
    writer.start()
    polls = missing = 0
    while writer.is_alive():
        polls += 1
        if not os.path.isdir(target):
            missing += 1
    writer.join(30)
    assert writer.exitcode == 0 and polls > 100
    assert missing == 0
    assert _complete(target) and (target / "a.txt").read_text() == "299"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "rename-aside-fallback"])
def test_concurrent_replacers_all_succeed(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_renameat2", None)
    elif atomic._renameat2 is None:
        pytest.skip("no renameat2 here")
    target = tmp_path / "store"
    procs = [FORK.Process(target=_replace_many, args=(str(target), 40)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert _complete(target) and (target / "a.txt").read_text() == "39"
    assert _leftovers(tmp_path) == []


def test_a_failed_replacement_leaves_the_old_folder(tmp_path):
    target = tmp_path / "store"
    _replace_many(str(target), 1)
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(target) as tmp:
            _fill(tmp, "new")
            raise KeyboardInterrupt
    assert (target / "a.txt").read_text() == "0" and _leftovers(tmp_path) == []
    with pytest.raises(FileExistsError):
        with atomic_dir(target, replace=False):
            pass


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_folders_get_the_umask_mode(tmp_path, mask):
    old = os.umask(mask)
    try:
        a = publish_once(tmp_path / "once", lambda tmp: _fill(tmp, "x"))
        with atomic_dir(tmp_path / "replaced") as tmp:
            _fill(tmp, "x")
        with atomic_dir(tmp_path / "replaced") as tmp:  # replacing an existing folder
            _fill(tmp, "y")
    finally:
        os.umask(old)
    for folder in (a, tmp_path / "replaced"):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~mask


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _orphan(parent: Path, name: str, pid: int, kind: str = "tmp") -> Path:
    path = temp_dir_name(parent / name, kind)
    path = path.with_name(path.name.replace(f".{os.getpid()}.", f".{pid}.", 1))
    path.mkdir()
    (path / "half.npy").write_bytes(b"\0" * 10)
    return path


def test_sweep_removes_dead_writers_folders_and_keeps_live_ones(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        gone = [_orphan(tmp_path, "run1", dead), _orphan(tmp_path, "store", dead, "old")]
        kept = [_orphan(tmp_path, "run1", live.pid), _orphan(tmp_path, "run2", os.getpid())]
        legacy_old, legacy_new = tmp_path / ".run3.k2j4_x9a.tmp", tmp_path / ".run3.ab12cd34.tmp"
        for p in (legacy_old, legacy_new):
            p.mkdir()
        os.utime(legacy_old, (time.time() - 2 * 86400,) * 2)
        host = "abcdef" if atomic._HOST != "abcdef" else "fedcba"
        other_host = tmp_path / f".run4.12.{host}.0123abcd.tmp"  # not this host: unknown liveness, fresh
        other_host.mkdir()
        (tmp_path / ".git").mkdir()
        (tmp_path / "run1").mkdir()
        lines: list[str] = []
        assert sweep_orphans(tmp_path, "run9", log=lines.append) == [] and lines == []
        removed = sweep_orphans(tmp_path, log=lines.append)
        assert sorted(removed) == sorted(gone + [legacy_old])
        assert len(lines) == 1 and lines[0].startswith(
            "removed 3 orphaned temporary folder(s) left by an interrupted run: ")
        assert all(str(p) in lines[0] for p in removed)
        assert all(p.is_dir() for p in kept + [legacy_new, other_host, tmp_path / ".git", tmp_path / "run1"])
    finally:
        live.kill()
        live.wait()


def _interrupted_writer(target: str, ready) -> None:
    with atomic_dir(target) as tmp:
        _fill(tmp, "half")
        ready.set()
        time.sleep(60)


def test_the_next_run_sweeps_what_a_killed_writer_left(tmp_path):
    target = tmp_path / "run"
    ready = FORK.Event()
    p = FORK.Process(target=_interrupted_writer, args=(str(target), ready))
    p.start()
    assert ready.wait(20)
    assert len(_leftovers(tmp_path)) == 1  # a live writer's folder
    assert sweep_orphans(tmp_path, log=lambda line: None) == []  # ... is never removed
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    assert len(_leftovers(tmp_path)) == 1 and not target.exists()
    with pytest.warns(UserWarning, match=r"removed 1 orphaned temporary folder\(s\) left by an interrupted run: .*\.run\."):
        with atomic_dir(target) as tmp:
            _fill(tmp, "done")
    assert _leftovers(tmp_path) == [] and _complete(target)


def test_remove_dir(tmp_path):
    target = tmp_path / "x.partial"
    _replace_many(str(target), 1)
    remove_dir(target)
    remove_dir(target)  # nothing left: no error
    assert os.listdir(tmp_path) == []


# -- the demo store: generated once, never rebuilt under a reader --------------------------------------------

def _ensure_demo(cache: str, barrier, out) -> None:
    os.environ["PDDS_CACHE"] = cache
    from pddslib.features import demo_stores
    from pddslib.features.store import FeatureStore

    try:
        barrier.wait(10)
        path = demo_stores.ensure_demo_store(0.02, 3)
        out.put((str(path), FeatureStore.open(path).fingerprint))
    except BaseException as err:  # noqa: BLE001 - reported to the parent
        out.put(("error", f"{type(err).__name__}: {err}"))


def test_processes_sharing_a_cache_get_one_demo_store(tmp_path):
    from pddslib.features import demo_stores

    out = FORK.Queue()
    for _ in range(3):  # the first round races to generate it, the others find it
        barrier = FORK.Barrier(2)
        procs = [FORK.Process(target=_ensure_demo, args=(str(tmp_path), barrier, out)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        results = {out.get(timeout=5) for _ in procs}
        assert len(results) == 1, results  # same folder, same content; no error
    assert os.listdir(tmp_path / "demo") == [Path(results.pop()[0]).name]
    with pytest.raises(FileExistsError, match=r": already exists; choose another --out or delete it$"):
        demo_stores.write_demo_store(tmp_path / "demo" / os.listdir(tmp_path / "demo")[0], scale=0.02, seed=3)
