"""Writing records (PRs, queries, selections) as JSONL or Parquet."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from prsynth.errors import ConfigError, DiskFull

FORMATS = ("jsonl", "parquet")


DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
STORE_SIDECARS = ("", "-wal", "-shm", "-journal", ".crawl-lock", ".synth-lock", ".judge-lock")


def check_output_path(out: str | Path, store: str | Path | None) -> None:
    """Refuse an output file that is the store (or one of its SQLite side files), however
    it is spelled: relative, `./`, through a symlink or a hard link."""
    if store is None or str(out) == "-":
        return
    target = os.path.realpath(out)
    for suffix in STORE_SIDECARS:
        guarded = os.path.realpath(f"{store}{suffix}")
        same = target == guarded or (
            os.path.exists(target) and os.path.exists(guarded)
            and os.path.samefile(target, guarded))
        if same:
            raise ConfigError(
                f"output {out} is the store {store}{suffix}; writing there would destroy it,"
                " pass another file to -o"
            )


def write_records(records: Iterable[dict[str, Any]], out: str | Path, fmt: str = "jsonl") -> int:
    """Write `records` to the file `out` ("-" for stdout); return how many were written.

    Callers refuse an `out` that names the store first (`check_output_path`)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is unknown; use one of {', '.join(FORMATS)}")
    if str(out) == "-":
        return _write(records, sys.stdout.buffer, fmt)
    path = Path(out)
    if not path.parent.exists():
        raise ConfigError(f"output {path}: folder {path.parent} does not exist; create it first")
    with atomic_output(path) as handle:
        return _write(records, handle, fmt)


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A handle on `path.partial`, renamed to `path` when the block ends well and removed
    when it does not, so an interrupted or failed write never leaves half a file. A full
    disk (or a file-size limit) is one line: the store is not touched by output files."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as handle:
            yield handle
        partial.replace(path)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise DiskFull(f"disk full while writing {path}; nothing stored was lost") from None
        raise


def _write(records: Iterable[dict[str, Any]], handle: BinaryIO, fmt: str) -> int:
    if fmt == "jsonl":
        count = 0
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
            count += 1
        handle.flush()
        return count
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(records)
    table = pa.Table.from_pylist(rows)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    handle.write(buffer.getvalue())
    handle.flush()
    return len(rows)
