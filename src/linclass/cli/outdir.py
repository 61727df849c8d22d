"""A command's ``--out`` folder, held by one run at a time.

:func:`output_dir` creates the folder, takes its lock (``.lock``, created with ``O_EXCL``, holding the
owner's pid and host: a lock whose process has ended on this host, or one older than :data:`LOCK_GRACE`
that names no process, is stale and taken over), refuses a folder that holds a finished run's result
(``finished``, e.g. ``model.npz``: a command passes it unless ``--overwrite`` or ``--resume``), removes
temporary files a killed run left (``.NAME.*.tmp`` from :func:`linclass.persist.atomic_write`), and on
the way out releases the lock and, if the run failed, removes the folders it created that stayed empty.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError

LOCK = ".lock"
LOCK_GRACE = 2.0
"""Seconds a lock that names no process (empty: the disk filled before its pid was written) is respected:
a run writes its pid right after creating the lock, so an older one is stale and taken over."""


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OSError, OverflowError):
        return False
    return True


def _lock(folder: Path) -> Path:
    """Create ``folder/.lock`` for this process; take over a stale one; refuse a live one."""
    path, me = folder / LOCK, f"{os.getpid()} {socket.gethostname()}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                owner = path.read_text().split()
            except OSError:
                owner = []
            pid = int(owner[0]) if owner and owner[0].isdigit() else None
            host = owner[1] if len(owner) > 1 else None
            if (pid is not None and host == socket.gethostname() and not _alive(pid)) or \
                    (pid is None and _age(path) > LOCK_GRACE):
                path.unlink(missing_ok=True)  # stale: its run was killed, or never wrote its pid (disk full)
                continue
            who = f"pid {pid} on {host}" if pid is not None else "another run"
            raise OutputError(f"--out {folder} is in use by another linclass run ({who}); wait for it to finish, "
                              f"choose another --out, or delete {path} if no run is using it.") from None
        except OSError as err:
            raise OutputError(f"cannot write in --out {folder} ({err.strerror}); choose a writable folder, "
                              "e.g. --out runs/mine.") from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        return path
    raise OutputError(f"cannot lock --out {folder}: {path} keeps reappearing; delete it and retry.")


def default_out(name: str) -> Path:
    """``runs/<name>-<date>-<time>``, the default ``--out`` of a run; ``…-2``, ``-3``, … when a run of the same
    second already has that folder (two commands in a row would otherwise meet in one folder)."""
    base = Path("runs") / f"{name}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def _missing_parents(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    for p in [folder, *folder.parents]:
        if p.exists():
            break
        missing.append(p)
    return missing


def _refuse_finished(folder: Path, finished: str | None) -> None:
    if finished is not None and (folder / finished).exists():
        raise OutputError(f"--out {folder} holds a finished run ({finished}); pass --overwrite to replace it, "
                          "or choose another --out.")


@contextmanager
def output_dir(folder, *, finished: str | None = None):
    """Create and lock ``folder`` for one run (refused if it holds ``finished``); see the module docstring."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder} is an existing file, not a folder; give a folder, e.g. --out runs/mine.")
    created = _missing_parents(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutputError(f"cannot create --out {folder} ({err.strerror}); choose a writable folder, "
                          "e.g. --out runs/mine.") from None
    ok = False
    try:
        lock = _lock(folder)
        try:
            _refuse_finished(folder, finished)
            for tmp in folder.glob(".*.tmp"):  # left by a killed run: atomic_write's temporary files
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)
            yield folder
            ok = True
        finally:
            lock.unlink(missing_ok=True)
    finally:
        if not ok:
            for p in created:  # deepest first; stop at the first that is not empty
                try:
                    p.rmdir()
                except OSError:
                    break
