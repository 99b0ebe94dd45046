"""The SQLite store: WAL, numbered migrations, one transaction per unit, refusing bad files."""

import sqlite3

import pytest

from prsynth.errors import StoreError
from prsynth.migrations import all_migrations
from prsynth.records import FileChange, PullRequest
from prsynth.store import Store


def make_pr(number: int, **fields) -> PullRequest:
    values = {"repo": "acme/app", "number": number, "title": f"Change {number}",
              "source": "import", "files": [FileChange("a.py", "modified", 1, 0)],
              "diff": "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1,2 @@\n x\n+y\n"}
    values.update(fields)
    return PullRequest(**values)


def test_new_store_is_wal_and_records_every_migration(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [m.name for m in all_migrations()]
        assert store.applied_migrations() == names
        assert store.schema_version == all_migrations()[-1].number


def test_reopening_applies_nothing_twice_and_keeps_data(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.put_pr(make_pr(1))
    with Store(tmp_path / "s.db") as store:
        assert store.migrate() == []
        assert store.pr_ids() == {"acme/app#1"}


def test_an_older_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "s.db"
    with Store(path, migrate=False) as store:
        first = all_migrations()[0]
        with store.transaction() as db:
            db.execute("CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                       " applied_at TEXT NOT NULL)")
            db.execute("PRAGMA application_id = 1347572569")
            first.module.apply(db)
            db.execute("INSERT INTO migrations VALUES (1, ?, 'then')", (first.name,))
            db.execute("PRAGMA user_version = 1")
    with Store(path) as store:
        assert store.applied_migrations() == [m.name for m in all_migrations()]


def test_a_failed_unit_of_work_rolls_back_whole(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put_pr(make_pr(1))
            store.record_drop("crawl", "acme/app#2", "bot_author", repo="acme/app")
            raise RuntimeError("interrupted")
    assert store.count_prs() == 0 and store.drop_counts() == []


def test_put_pr_upserts_by_id_and_never_duplicates(store):
    assert store.put_pr(make_pr(1)) is True
    assert store.put_pr(make_pr(1, title="Retitled")) is True
    assert store.put_pr(make_pr(1, title="Ignored"), replace=False) is False
    assert store.count_prs() == 1 and store.get_pr("acme/app#1").title == "Retitled"


def test_redropping_an_item_counts_once(store):
    for _ in range(3):
        store.record_drop("crawl", "acme/app#2", "bot_author", repo="acme/app")
    assert store.drop_counts() == [("crawl", "acme/app", "bot_author", 1)]


def test_pr_record_round_trips_through_the_store(store):
    pr = make_pr(5, body="Fixes #1", author="dependabot[bot]", author_is_bot=True,
                 linked_issues=[{"number": 1, "title": "Bug", "body": "It broke"}],
                 license="MIT", stars=12, diff_truncated=True)
    store.put_pr(pr)
    assert store.get_pr(pr.id).to_dict() == pr.to_dict()


@pytest.mark.parametrize("content, message", [
    (b"this is not a database at all" * 100, "not a usable SQLite database"),
    (None, "another program"),
])
def test_corrupt_or_foreign_files_are_refused_untouched(tmp_path, content, message):
    path = tmp_path / "other.db"
    if content is None:
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message):
        Store(path)
    assert path.read_bytes() == before


def test_a_store_from_a_newer_prsynth_is_refused(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.db.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="upgrade prsynth"):
        Store(path)


def test_cli_reports_a_bad_store_in_one_line(run_cli, store_path):
    store_path.write_bytes(b"garbage" * 1000)
    result = run_cli("stats")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "not a usable SQLite database" in lines[0]
