"""The bad-input matrix: one parametrised test per class of mistake, each case run through
the real CLI. Every case must end with its README exit code, exactly one `Error:` line
(no traceback) and the store exactly as it was."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from prsynth.cli import cli
from prsynth.resources import sample_prs_path
from prsynth.store.lock import store_lock

SECRET = "hunter2-Xk29fLmQ"


@pytest.fixture(scope="module")
def made_store(tmp_path_factory) -> Path:
    """The bundled sample, imported and synthesized offline, made once per module."""
    store = tmp_path_factory.mktemp("made") / "prsynth.db"
    for args in (["crawl", "import", str(sample_prs_path())], ["synth", "--llm", "offline"]):
        result = CliRunner().invoke(cli, ["--store", str(store), *args])
        assert result.exit_code == 0, result.output
    return store


@pytest.fixture
def workdir(made_store, tmp_path, monkeypatch) -> Path:
    shutil.copy(made_store, tmp_path / "prsynth.db")
    (tmp_path / "link.db").symlink_to(tmp_path / "prsynth.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def snapshot(folder: Path) -> dict[str, str]:
    """The store and its write-ahead log by content hash (not lock files, not SQLite's
    shared-memory index, which any reader rewrites)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())
            if p.is_file() and not p.is_symlink() and not p.name.endswith(("-lock", "-shm"))
            and p.stat().st_size}


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, args, env=env)


def assert_refused(result, code: int, *needles: str) -> str:
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert result.exit_code == code, result.output
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --- output naming the store: data loss ------------------------------------------------

OUTPUT_IS_STORE = [
    ["export", "prs", "-o", "prsynth.db"],
    ["export", "prs", "--format", "parquet", "-o", "./prsynth.db"],
    ["export", "queries", "-o", "link.db"],
    ["export", "selected", "-o", "prsynth.db-wal"],
    ["select", "--k", "5", "-o", "./link.db"],
    ["report", "-o", "prsynth.db"],
    ["report", "-o", "{abs}"],
]


@pytest.mark.parametrize("args", OUTPUT_IS_STORE, ids=" ".join)
def test_output_naming_the_store_is_refused(workdir, args):
    before = snapshot(workdir)
    args = [a.replace("{abs}", str(workdir / "prsynth.db")) for a in args]
    assert_refused(run(["--store", "prsynth.db", *args]), 2, "is the store")
    assert snapshot(workdir) == before


# --- read-only commands on a mistyped store ---------------------------------------------

READERS = [["stats"], ["export", "prs"], ["export", "queries"], ["export", "selected"],
           ["clusters"], ["clusters", "show", "0"], ["dupes"], ["selections"],
           ["mark", "--list"], ["report", "-o", "r.html"], ["score", "--explain", "x"]]


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_reading_a_store_that_does_not_exist_creates_nothing(workdir, args):
    before = snapshot(workdir)
    assert_refused(run(["--store", "typo.db", *args]), 2, "typo.db does not exist")
    assert snapshot(workdir) == before


# --- contradictory flags -----------------------------------------------------------------

CONTRADICTIONS = [
    ["mark", "x/y#1/vibe_request/offline-baseline", "--pin", "--reject"],
    ["mark", "x/y#1/vibe_request/offline-baseline", "--pin", "--clear"],
    ["mark", "x/y#1/vibe_request/offline-baseline", "--reject", "--list"],
]


@pytest.mark.parametrize("args", CONTRADICTIONS, ids=" ".join)
def test_contradictory_flags_are_refused(workdir, args):
    before = snapshot(workdir)
    assert_refused(run(["--store", "prsynth.db", *args]), 2, "contradict")
    assert snapshot(workdir) == before


# --- import records that break the documented schema -----------------------------------

BAD_RECORDS = [
    ('{"repo": "a/b", "number": 1, "title": "t", "additions": [1]}', "'additions'"),
    ('{"repo": "a/b", "number": 1, "title": "t", "files": "x"}', "'files'"),
    ('{"repo": "a/b", "number": 1, "title": 123}', "'title'"),
    ('{"repo": "a/b", "number": 1, "title": "t", "merged_at": 5}', "'merged_at'"),
    ('{"repo": "a/b", "number": 1, "title": "t", "merged_at": "yesterday"}', "'merged_at'"),
    ('{"repo": "a/b", "number": 1, "title": "t", "linked_issues": "x"}', "'linked_issues'"),
    ('{"repo": "a/b", "number": true, "title": "t"}', "'number'"),
    ('{"repo": "a/b", "number": 1, "title": "t", "files": [{"path": 3}]}', "'files[0].path'"),
    ('{"repo": "a/b", "number": 1, "title": "t", "id": "c/d#9"}', "'id'"),
    ('{"repo": "a/b", "instance_id": "a__b-1", "base_commit": 5, "patch": ""}',
     "'base_commit'"),
    ("[1, 2]", "JSON object"),
    ("{not json", "not valid JSON"),
]


@pytest.mark.parametrize("line, reason", BAD_RECORDS, ids=[r for _, r in BAD_RECORDS])
def test_import_skips_records_that_break_the_schema_with_line_and_reason(
        workdir, line, reason):
    (workdir / "dump.jsonl").write_text("\n" + line + "\n")
    before = snapshot(workdir)
    result = run(["--store", "prsynth.db", "crawl", "import", "dump.jsonl"])
    assert_refused(result, 3, "1 lines could not be imported")
    assert "line 2: " in result.output and reason in result.output
    assert snapshot(workdir) == before


def test_the_same_id_twice_in_one_file_is_counted_once(workdir):
    diff = "diff --git a/x b/x\\n--- a/x\\n+++ b/x\\n@@ -1 +1 @@\\n-a\\n+b\\n"
    lines = [f'{{"repo": "n/m", "number": {n}, "title": "t{n}", "diff": "{diff}"}}'
             for n in (1, 1, 2)]
    (workdir / "dump.jsonl").write_text("\n".join(lines) + "\n")
    (workdir / "prsynth.toml").write_text(
        "[filters]\nmin_changed_lines = 0\nno_source_code = false\n")
    result = run(["--store", "prsynth.db", "crawl", "import", "dump.jsonl", "--json"])
    assert_refused(result, 3)
    assert '"new": 2' in result.output and "n/m#1 was already on line 1" in result.output
    with sqlite3.connect(workdir / "prsynth.db") as db:
        assert db.execute("SELECT count(*) FROM prs WHERE repo = 'n/m'").fetchone()[0] == 2


# --- credentials in URLs never reach a message --------------------------------------------

CREDENTIAL_URLS = [
    (["crawl", "github", "a/b", "--api-url", f"ftp://me:{SECRET}@example.org/"], {}, 2),
    (["crawl", "github", "a/b", "--api-url", f"http://me:{SECRET}@127.0.0.1:9/"], {}, 1),
    (["synth", "--llm", "openai", "--model", "m"],
     {"OPENAI_BASE_URL": f"http://me:{SECRET}@127.0.0.1:9/v1", "OPENAI_API_KEY": "x"}, 3),
]


@pytest.mark.parametrize("args, env, code", CREDENTIAL_URLS, ids=lambda v: str(v)[:40])
def test_credentials_in_urls_are_masked_in_messages(workdir, args, env, code, monkeypatch):
    (workdir / "prsynth.toml").write_text(
        "[github]\nbackoff = 0.01\nmax_retries = 1\nmax_failures = 1\n"
        "[llm]\nmax_retries = 0\ntimeout = 2\n")
    before = snapshot(workdir)
    result = run(["--store", "prsynth.db", *args], env=env)
    assert SECRET not in result.output
    if code == 1 and args[0] == "crawl":
        assert result.exit_code == 1 and "127.0.0.1" in result.output
    else:
        assert_refused(result, code)
    if args[0] == "synth":
        assert snapshot(workdir) == before


# --- damaged stores ---------------------------------------------------------------------

def flip_text_bytes(store: Path) -> None:
    # closing(): the connection's own context manager commits but leaves it open, and its
    # late close (at garbage collection) would checkpoint the WAL mid-test.
    with contextlib.closing(sqlite3.connect(store)) as db:
        title = db.execute("SELECT title FROM prs ORDER BY id LIMIT 1").fetchone()[0]
    data = bytearray(store.read_bytes())
    at = data.find(title.encode())
    data[at + 1:at + 3] = b"\xff\xfe"
    store.write_bytes(bytes(data))


def mismatch_migrations(store: Path) -> None:
    with contextlib.closing(sqlite3.connect(store)) as db, db:
        db.execute("DELETE FROM migrations WHERE number = (SELECT max(number) FROM migrations)")


def not_sqlite(store: Path) -> None:
    store.write_bytes(b"this is not a database at all, just text" * 100)


DAMAGE = [
    (flip_text_bytes, ["export", "prs", "-o", "out.jsonl"], "damaged"),
    (flip_text_bytes, ["synth", "--llm", "offline"], "damaged"),
    (mismatch_migrations, ["stats"], "inconsistent"),
    (mismatch_migrations, ["crawl", "import", "dump.jsonl"], "inconsistent"),
    (not_sqlite, ["stats"], "not a usable SQLite database"),
]


@pytest.mark.parametrize("damage, args, needle", DAMAGE,
                         ids=[f"{d.__name__}-{a[0]}" for d, a, _ in DAMAGE])
def test_a_damaged_store_is_named_with_how_to_recover(workdir, damage, args, needle):
    (workdir / "dump.jsonl").write_text("")
    damage(workdir / "prsynth.db")
    before = snapshot(workdir)
    line = assert_refused(run(["--store", "prsynth.db", *args]), 1, needle)
    assert "backup" in line or "point --store" in line
    assert snapshot(workdir) == before


# --- read-only stores ---------------------------------------------------------------------

@pytest.fixture
def read_only_folder(workdir, tmp_path):
    """The store in a folder mounted read-only (root writes anywhere else)."""
    source, target = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    shutil.copy(workdir / "prsynth.db", source / "prsynth.db")
    (workdir / "dump.jsonl").write_text('{"repo": "a/b", "number": 1, "title": "t"}\n')
    for command in (["mount", "--bind", str(source), str(target)],
                    ["mount", "-o", "remount,bind,ro", str(target)]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            subprocess.run(["umount", str(target)], capture_output=True)
            pytest.skip(f"cannot make a read-only mount here ({done.stderr.strip()})")
    yield target
    subprocess.run(["umount", str(target)], check=False)


READ_ONLY = [
    (["stats"], 0), (["export", "prs", "-o", "{out}"], 0), (["clusters"], 1),
    (["crawl", "import", "dump.jsonl"], 1), (["synth", "--llm", "offline"], 1),
    (["mark", "x/y#1/vibe_request/offline-baseline", "--pin"], 1), (["embed"], 1),
]


@pytest.mark.parametrize("args, code", READ_ONLY, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else str(v))
def test_read_only_stores_are_read_and_writers_say_read_only(read_only_folder, workdir,
                                                              args, code):
    before = snapshot(read_only_folder)
    args = [a.replace("{out}", str(workdir / "out.jsonl")) for a in args]
    result = run(["--store", str(read_only_folder / "prsynth.db"), *args])
    if code == 0:
        assert result.exit_code == 0, result.output
    elif args[0] == "clusters":
        assert_refused(result, 1, "no clusters")  # read fine, nothing clustered yet
    else:
        assert_refused(result, 1, "read-only")
    assert snapshot(read_only_folder) == before


# --- busy stores: one synth at a time -----------------------------------------------------

@pytest.mark.parametrize("args, activity", [
    (["synth", "--llm", "offline", "--redo"], "synth"),
    (["crawl", "import", "dump.jsonl"], "crawl"),
], ids=["synth", "crawl-through-symlink"])
def test_a_second_run_on_a_busy_store_exits_at_once(workdir, args, activity):
    (workdir / "dump.jsonl").write_text("")
    with store_lock(workdir / "prsynth.db", activity):
        before = snapshot(workdir)
        store = "link.db" if activity == "crawl" else "prsynth.db"
        assert_refused(run(["--store", store, *args]), 1, f"another {activity} (pid {os.getpid()})")
        assert snapshot(workdir) == before
