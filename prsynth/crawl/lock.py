"""One crawl (or scheduled run) at a time per store: an OS file lock next to it."""

from __future__ import annotations

import contextlib
from pathlib import Path

from prsynth.store.lock import StoreBusy as CrawlLocked
from prsynth.store.lock import store_lock

__all__ = ["CrawlLocked", "crawl_lock"]


def crawl_lock(store_path: str | Path) -> contextlib.AbstractContextManager[None]:
    """One crawl at a time on a store; a second one fails at once (see `store_lock`)."""
    return store_lock(store_path, "crawl")
