"""A full disk ends a command with one line and loses nothing: what was committed stays,
the store still passes its integrity check, and no half-written output file is left.

The disk is a small tmpfs mounted for the test (root can mount one; CI runs as root).
"""

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from prsynth.cli import cli
from prsynth.resources import sample_prs_path

ONE_LINE_FULL = "disk full while writing"


@pytest.fixture
def small_disk(tmp_path):
    """Mount a tmpfs of `size` KiB at a fresh folder; unmounted afterwards."""
    mounted = []

    def mount(size_kib: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs",
                               str(where)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()})")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def prsynth(*args: str):
    return CliRunner().invoke(cli, list(args))


def integrity(store: Path) -> tuple[str, int]:
    with sqlite3.connect(store) as db:
        return (db.execute("PRAGMA integrity_check").fetchone()[0],
                db.execute("SELECT count(*) FROM prs").fetchone()[0])


def big_dump(path: Path, copies: int = 12) -> Path:
    """The bundled sample, renumbered `copies` times: a few MB of PR records."""
    rows = [json.loads(line) for line in sample_prs_path().read_text().splitlines()]
    with path.open("w") as out:
        for copy in range(copies):
            for row in rows:
                number = row["number"] + 10_000 * copy
                out.write(json.dumps({**row, "number": number,
                                      "id": f"{row['repo']}#{number}"}) + "\n")
    return path


def assert_one_line(result, where: str) -> None:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert ONE_LINE_FULL in lines[0] and where in lines[0]
    assert "nothing stored was lost" in lines[0] and "Traceback" not in result.output


def test_crawl_on_a_full_disk_says_so_and_keeps_what_was_committed(small_disk, tmp_path):
    disk = small_disk(1024)
    store = disk / "prsynth.db"
    result = prsynth("--store", str(store), "crawl", "import",
                     str(big_dump(tmp_path / "big.jsonl")))
    assert_one_line(result, str(store))
    check, stored = integrity(store)
    assert check == "ok" and stored > 0
    assert list(disk.glob("*.partial")) == []


def test_synth_on_a_full_disk_says_so_and_the_store_stays_sound(small_disk, tmp_path):
    source = tmp_path / "made.db"
    assert prsynth("--store", str(source), "crawl", "import",
                   str(big_dump(tmp_path / "big.jsonl", copies=3))).exit_code == 0
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_kib = source.stat().st_size // 1024 + 96
    disk = small_disk(size_kib)
    store = disk / "prsynth.db"
    shutil.copy(source, store)

    result = prsynth("--store", str(store), "synth", "--llm", "offline")

    assert_one_line(result, str(store))
    assert integrity(store)[0] == "ok"


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_to_a_full_disk_leaves_no_partial_file(small_disk, tmp_path, fmt):
    store = tmp_path / "prsynth.db"
    assert prsynth("--store", str(store), "crawl", "import",
                   str(sample_prs_path())).exit_code == 0
    out = small_disk(16) / f"prs.{fmt}"
    result = prsynth("--store", str(store), "export", "prs", "--format", fmt, "-o", str(out))
    assert_one_line(result, str(out))
    assert list(out.parent.iterdir()) == []


def test_report_to_a_full_disk_leaves_no_partial_file(small_disk, tmp_path):
    from prsynth.errors import DiskFull
    from prsynth.outputs.report import ReportData, write_report

    data = ReportData(generated_at="now", store=str(tmp_path / "prsynth.db"),
                      points={"id": ["x" * 200_000]}, clusters=[], selected=[])
    out = small_disk(16) / "report.html"
    with pytest.raises(DiskFull, match=f"{ONE_LINE_FULL} {out}; nothing stored was lost"):
        write_report(data, out)
    assert list(out.parent.iterdir()) == []


def test_embed_on_a_full_disk_says_so_and_the_store_stays_sound(small_disk, tmp_path, minilm):
    source, dump = tmp_path / "made.db", tmp_path / "few.jsonl"
    # Enough PRs that their float16 vectors (~0.8 KB a query) outgrow the margin below.
    dump.write_text("".join(sample_prs_path().read_text().splitlines(keepends=True)[:400]))
    for args in (["crawl", "import", str(dump)], ["synth", "--llm", "offline"]):
        assert prsynth("--store", str(source), *args).exit_code == 0
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    disk = small_disk(source.stat().st_size // 1024 + 100)  # room to open, not to embed
    store = disk / "prsynth.db"
    shutil.copy(source, store)

    result = prsynth("--store", str(store), "embed", "--batch-size", "8")

    assert_one_line(result, str(store))
    assert integrity(store)[0] == "ok"


def test_opening_a_store_on_a_full_disk_says_so(small_disk, tmp_path):
    source = tmp_path / "made.db"
    assert prsynth("--store", str(source), "crawl", "import",
                   str(sample_prs_path())).exit_code == 0
    disk = small_disk(source.stat().st_size // 1024 + 8)
    shutil.copy(source, disk / "prsynth.db")
    result = prsynth("--store", str(disk / "prsynth.db"), "stats")
    # No room for SQLite's 32 KiB shared-memory index: one line, not "not a database".
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: disk full while opening store")
    assert len(result.output.strip().splitlines()) == 1
