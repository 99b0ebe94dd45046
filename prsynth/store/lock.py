"""One run of an activity (crawl, synth, judge) at a time on a store."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from prsynth.errors import PrsynthError, StoreError


class StoreBusy(PrsynthError):
    """Another process runs the same activity on the store."""


@contextlib.contextmanager
def store_lock(store_path: str | Path, activity: str) -> Iterator[None]:
    """Hold an exclusive lock on `store_path` for one `activity`; a second run of it fails
    at once (two synth runs would pay for the same answers and count them twice).

    An OS file lock (flock) in `STORE.ACTIVITY-lock`: the kernel releases it when the
    process ends, even on kill -9, so a crashed run never leaves a stale lock. Keyed on the
    real path, so a store reached through a symlink shares the lock.
    """
    lock_path = Path(f"{os.path.realpath(store_path)}.{activity}-lock")
    if not lock_path.parent.exists():
        raise StoreError(
            f"store {store_path}: folder {lock_path.parent} does not exist; create it first")
    try:
        handle = lock_path.open("a+", encoding="utf-8")
    except PermissionError:
        raise StoreError(f"store {store_path} is read-only (its folder is not writable); "
                         f"make it writable to {activity}") from None
    except OSError as exc:
        if exc.errno != errno.EROFS:
            raise
        raise StoreError(f"store {store_path} is on a read-only file system; "
                         f"copy it somewhere writable to {activity}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreBusy(
            f"another {activity} (pid {holder}) is running on store {store_path}; "
            "wait for it to finish"
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
