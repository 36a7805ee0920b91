"""Writing folders atomically: a reader sees the old folder or the complete new one, never half.

Every folder is built in a temporary folder beside its target and renamed into place. The
temporary folders are named ``.NAME.<pid>.<host>.<token>.tmp`` (``.old`` for a folder on its way
out), so that :func:`sweep_orphans` can tell the folders of a live writer from those an
interrupted run left behind; the helpers below sweep the target's parent folder each time they
write. Folders are created with the process umask (``mkdtemp`` would make them 0700).

Two ways to publish:

* :func:`publish_once` (write-once, for content-keyed caches): the first finished writer wins,
  later writers discard their copy and use the published one;
* :func:`atomic_dir` (replace): the new folder takes the place of the old one without the target
  ever being missing: ``renameat2(RENAME_EXCHANGE)`` swaps them atomically on Linux (no lock
  needed: the last swap wins). Elsewhere (or on a filesystem without it) the old folder is renamed
  aside just before the new one is renamed in, a window of two system calls, and replacers are
  serialised by a ``filelock`` lock file ``.NAME.lock`` beside the target.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_dir", "publish_once", "remove_dir", "sweep_orphans", "temp_dir_name"]

#: Folders whose liveness cannot be checked (another host, or named before pids were recorded)
#: are swept only when untouched for this long (seconds).
STALE_AFTER = 24 * 3600.0

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<host>[0-9a-f]{6})\.(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|old)$")
_LEGACY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")  # tempfile.mkdtemp of pddslib <= 0.1

Log = Callable[[str], None]


# -- naming and creating temporary folders -----------------------------------------------------------

def temp_dir_name(target: str | os.PathLike, kind: str = "tmp") -> Path:
    """A fresh temporary-folder path beside ``target``: ``.NAME.<pid>.<host>.<token>.<kind>``.

    Parameters
    ----------
    target : path
        The folder the temporary one stands in for.
    kind : {"tmp", "old"}
        ``tmp``: a folder being built; ``old``: a folder being removed.

    Returns
    -------
    Path
        A path that does not exist yet (the token is random).
    """
    target = Path(target)
    return target.with_name(f".{target.name}.{os.getpid()}.{_HOST}.{secrets.token_hex(4)}.{kind}")


def _make_temp_dir(target: Path) -> Path:
    while True:
        tmp = temp_dir_name(target)
        try:
            tmp.mkdir()  # mode 0o777 & ~umask, as any other folder the process creates
            return tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


# -- renames ----------------------------------------------------------------------------------------

_AT_FDCWD, _RENAME_NOREPLACE, _RENAME_EXCHANGE = -100, 1, 2


def _libc_renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not glibc >= 2.28 (musl, macOS, Windows)
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _libc_renameat2() if os.name == "posix" else None


def _rename2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2``; False where the system or filesystem lacks it, OSError for a real failure."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; FileExistsError when ``dst`` exists (even as an empty folder)."""
    try:
        if _rename2(src, dst, _RENAME_NOREPLACE):
            return
        if dst.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(dst))
        os.rename(src, dst)  # a folder appearing in between: ENOTEMPTY/EEXIST below
    except OSError as err:
        if err.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, "File exists", str(dst)) from None
        raise


def _swap_in(new: Path, target: Path) -> Path | None:
    """Put ``new`` at ``target``; returns where the old ``target`` now is (None: there was none)."""
    while True:
        try:
            _rename_noreplace(new, target)
            return None
        except FileExistsError:
            pass
        try:
            old = temp_dir_name(target, "old")
            if _rename2(new, target, _RENAME_EXCHANGE):
                return new  # the old folder now has new's name
            os.rename(target, old)  # fallback: target is missing until the next rename
            try:
                os.rename(new, target)
            except BaseException:
                os.rename(old, target)
                raise
            return old
        except FileNotFoundError:  # target removed meanwhile: try a plain rename again
            continue


def _lock(target: Path):
    from filelock import FileLock

    return FileLock(str(target.with_name(f".{target.name}.lock")))


# -- public helpers -------------------------------------------------------------------------------------

def remove_dir(path: str | os.PathLike) -> None:
    """Delete a folder so that it is gone at once: renamed to a ``.old`` name first, then removed.

    An interruption leaves the ``.old`` folder, which the next :func:`sweep_orphans` of its parent
    removes (rather than a half-deleted folder under the original name).
    """
    path = Path(path)
    if not path.exists():
        return
    aside = temp_dir_name(path, "old")
    os.rename(path, aside)
    shutil.rmtree(aside, ignore_errors=True)


def link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Hard-link ``src`` to ``dst`` (no data copied), or copy it where links are impossible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@contextmanager
def atomic_dir(target: str | os.PathLike, replace: bool = True, *, log: Log | None = None) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it becomes ``target``.

    Parameters
    ----------
    target : path
        The folder to write.
    replace : bool
        True: an existing ``target`` is replaced, and it is never missing meanwhile (the new folder
        is swapped in, then the old one is deleted). Where the system cannot exchange two folders
        atomically, the old one is renamed aside just before the new one is renamed in, and
        replacers of one target are serialised by a lock file ``.NAME.lock`` beside it.
        False: write once; FileExistsError when ``target`` exists on entry or was published by
        another writer before this one finished (this copy is then discarded).
    log : callable, optional
        Receives the one-line report of :func:`sweep_orphans` (default: :func:`warnings.warn`).

    Yields
    ------
    Path
        The temporary folder to fill. On any error (KeyboardInterrupt included) it is removed and
        ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(target.parent, log=log)
    if not replace and target.exists():
        raise FileExistsError(errno.EEXIST, "File exists", str(target))
    tmp = _make_temp_dir(target)
    try:
        yield tmp
        if replace:
            if _renameat2 is not None:  # an atomic exchange needs no lock
                old = _swap_in(tmp, target)
            else:
                with _lock(target):
                    old = _swap_in(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        else:
            _rename_noreplace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish_once(target: str | os.PathLike, build: Callable[[Path], object], *,
                 log: Log | None = None) -> Path:
    """Write-once publishing: return ``target``, building it first unless it exists.

    For content-keyed caches (run folders, generated stores), where two writers of one target
    produce equivalent folders: ``build`` fills a temporary folder that is renamed to ``target``;
    when another writer finished first, this copy is discarded and theirs is used. Readers never
    see a missing or half-written ``target``.

    Parameters
    ----------
    target : path
        The folder to publish.
    build : callable
        ``build(tmp)`` writes the folder's files into the (existing, empty) folder ``tmp``.
    log : callable, optional
        Receives the one-line report of :func:`sweep_orphans` (default: :func:`warnings.warn`).

    Returns
    -------
    Path
        ``target``.
    """
    target = Path(target)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(target.parent, log=log)
    tmp = _make_temp_dir(target)
    try:
        build(tmp)
        try:
            _rename_noreplace(tmp, target)
        except FileExistsError:  # another writer finished first: theirs is the published one
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _writer_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_orphans(parent: str | os.PathLike, name: str | None = None, *, log: Log | None = None,
                  stale_after: float = STALE_AFTER) -> list[Path]:
    """Remove the temporary folders that interrupted writers left in ``parent``.

    A folder ``.NAME.<pid>.<host>.<token>.tmp`` (or ``.old``) is removed when its writer ``pid``
    on this host is no longer running; a live writer's folder is never touched. Folders of another
    host, and those named ``.NAME.XXXXXXXX.tmp`` by older versions, are removed only when
    untouched for ``stale_after`` seconds.

    Parameters
    ----------
    parent : path
        The folder to sweep (not recursive).
    name : str, optional
        Only the temporary folders of this target name (default: all).
    log : callable, optional
        Called with one line when something was removed (default: :func:`warnings.warn`).
    stale_after : float
        Age in seconds past which a folder of unknown liveness counts as orphaned.

    Returns
    -------
    list of Path
        The removed folders.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        m = _TEMP.match(entry.name)
        legacy = None if m else _LEGACY.match(entry.name)
        if not (m or legacy) or (name is not None and (m or legacy)["name"] != name):
            continue
        if m and m["host"] == _HOST:
            orphan = int(m["pid"]) != os.getpid() and not _writer_alive(int(m["pid"]))
        else:
            try:
                orphan = now - entry.stat(follow_symlinks=False).st_mtime > stale_after
            except FileNotFoundError:
                continue
        if orphan:
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.exists(entry.path):
                removed.append(Path(entry.path))
    if removed:
        msg = (f"removed {len(removed)} orphaned temporary folder(s) left by an interrupted run: "
               + ", ".join(str(p) for p in removed))
        if log is None:
            warnings.warn(msg, stacklevel=2)
        else:
            log(msg)
    return removed
