"""Writing records (PRs, queries, selections) as JSONL or Parquet."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from prsynth.errors import ConfigError

FORMATS = ("jsonl", "parquet")


def write_records(records: Iterable[dict[str, Any]], out: str | Path, fmt: str = "jsonl") -> int:
    """Write `records` to the file `out` ("-" for stdout); return how many were written."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is unknown; use one of {', '.join(FORMATS)}")
    if str(out) == "-":
        return _write(records, sys.stdout.buffer, fmt)
    path = Path(out)
    if not path.parent.exists():
        raise ConfigError(f"output {path}: folder {path.parent} does not exist; create it first")
    # Write next to the target and rename, so an interrupted export never leaves half a file.
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        count = _write(records, handle, fmt)
    partial.replace(path)
    return count


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
