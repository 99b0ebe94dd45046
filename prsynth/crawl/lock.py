"""One crawl (or scheduled run) at a time per store: an OS file lock next to it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from prsynth.errors import PrsynthError, StoreError


class CrawlLocked(PrsynthError):
    """Another crawl holds the store."""


@contextlib.contextmanager
def crawl_lock(store_path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on `store_path` for one crawl; a second crawl fails at once.

    An OS file lock (flock) next to the store: the kernel releases it when the process
    ends, even on kill -9, so a crashed crawl never leaves a stale lock.
    """
    lock_path = Path(f"{store_path}.crawl-lock")
    if not lock_path.parent.exists():
        raise StoreError(
            f"store {store_path}: folder {lock_path.parent} does not exist; create it first")
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise CrawlLocked(
            f"another crawl (pid {holder}) is running on store {store_path}; "
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
