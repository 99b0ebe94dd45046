"""`prsynth crawl import` (export format and SWE-bench rows) and `prsynth export prs`."""

import json

import pyarrow.parquet as pq
import pytest

from prsynth.crawl.run import crawl_import
from prsynth.resources import sample_prs_path
from prsynth.store import Store
from tests.support.tasks import FILTERS_OFF, FILTERS_OFF_TOML

DIFF = ("diff --git a/src/calc.py b/src/calc.py\nindex 1..2 100644\n--- a/src/calc.py\n"
        "+++ b/src/calc.py\n@@ -1,2 +1,2 @@\n def div(a, b):\n-    return a / b\n"
        "+    return a / b if b else 0\n")
TEST_DIFF = ("diff --git a/tests/test_calc.py b/tests/test_calc.py\nnew file mode 100644\n"
             "--- /dev/null\n+++ b/tests/test_calc.py\n@@ -0,0 +1,2 @@\n+def test_div():\n"
             "+    assert div(1, 0) == 0\n")
PR_FIELDS = {"id", "repo", "number", "url", "title", "body", "author", "author_is_bot",
             "merged_at", "base_sha", "head_sha", "merge_sha", "additions", "deletions",
             "files", "diff", "diff_truncated", "linked_issues", "license", "source"}


@pytest.fixture(autouse=True)
def mechanics_config(tmp_path):
    """CLI runs here read ./prsynth.toml: these small PRs test crawl mechanics, not tasks."""
    (tmp_path / "prsynth.toml").write_text(FILTERS_OFF_TOML)


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def export_record(number, **extra):
    record = {"repo": "acme/calc", "number": number, "title": f"Fix division {number}",
              "body": "Dividing by zero crashed", "author": "ann", "diff": DIFF + TEST_DIFF,
              "merged_at": "2024-05-01T10:00:00Z", "base_sha": "a" * 40}
    record.update(extra)
    return record


def test_export_format_records_import_with_files_derived_from_the_diff(store, tmp_path):
    dump = write_jsonl(tmp_path / "prs.jsonl", [export_record(1)])
    report = crawl_import(store, dump, tasks=FILTERS_OFF)
    assert report.new == 1
    pr = store.get_pr("acme/calc#1")
    assert [(f.path, f.status, f.additions, f.deletions) for f in pr.files] == [
        ("src/calc.py", "modified", 1, 1), ("tests/test_calc.py", "added", 2, 0)]
    assert pr.source == "import" and pr.url == "https://github.com/acme/calc/pull/1"


def test_swe_bench_rows_become_pr_records(store, tmp_path):
    row = {"repo": "acme/calc", "instance_id": "acme__calc-42", "base_commit": "b" * 40,
           "patch": DIFF, "test_patch": TEST_DIFF, "created_at": "2023-01-02T03:04:05Z",
           "problem_statement": "div() crashes on zero\n\nCalling div(1, 0) raises.",
           "version": "1.0", "FAIL_TO_PASS": "[]"}
    crawl_import(store, write_jsonl(tmp_path / "swe.jsonl", [row]), tasks=FILTERS_OFF)
    pr = store.get_pr("acme/calc#42")
    assert pr.title == "div() crashes on zero"
    assert pr.base_sha == "b" * 40 and pr.diff == DIFF + TEST_DIFF
    assert pr.additions == 3 and pr.deletions == 1


def test_malformed_lines_are_counted_and_the_rest_is_stored(run_cli, tmp_path, store_path):
    dump = write_jsonl(tmp_path / "mixed.jsonl", [
        export_record(1), "{not json", json.dumps([1, 2]), export_record(2, repo="bad name"),
        json.dumps({"repo": "acme/calc", "number": 3}), export_record(4),
    ])
    result = run_cli("crawl", "import", str(dump), "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["new"] == 2
    assert [b["line"] for b in report["bad_lines"]] == [2, 3, 4, 5]
    assert "missing field 'title'" in report["bad_lines"][3]["reason"]
    assert "Traceback" not in result.output
    with Store(store_path) as store:
        assert store.pr_ids() == {"acme/calc#1", "acme/calc#4"}


def test_reimport_never_duplicates(store, tmp_path):
    dump = write_jsonl(tmp_path / "prs.jsonl", [export_record(1), export_record(2)])
    crawl_import(store, dump, tasks=FILTERS_OFF)
    again = crawl_import(store, dump, tasks=FILTERS_OFF)
    assert again.new == 0 and again.unchanged == 2 and store.count_prs() == 2


def test_export_then_import_round_trips_every_field(run_cli, tmp_path):
    dump = write_jsonl(tmp_path / "prs.jsonl", [
        export_record(1, linked_issues=[{"number": 9, "title": "Crash", "body": "b"}],
                      license="MIT", author_is_bot=False)])
    assert run_cli("crawl", "import", str(dump)).exit_code == 0
    out = tmp_path / "out.jsonl"
    assert run_cli("export", "prs", "-o", str(out)).exit_code == 0
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert PR_FIELDS <= record.keys()
    assert record["id"] == "acme/calc#1" and record["linked_issues"][0]["number"] == 9

    with Store(tmp_path / "second.db") as second:
        crawl_import(second, out, tasks=FILTERS_OFF)
        assert second.get_pr("acme/calc#1").to_dict() == record


def test_export_parquet_and_stdout(run_cli, tmp_path):
    run_cli("crawl", "import", str(write_jsonl(tmp_path / "p.jsonl", [export_record(1)])))
    out = tmp_path / "prs.parquet"
    assert run_cli("export", "prs", "--format", "parquet", "-o", str(out)).exit_code == 0
    table = pq.read_table(out)
    assert table.num_rows == 1 and PR_FIELDS <= set(table.column_names)

    result = run_cli("export", "prs")
    assert json.loads(result.stdout.splitlines()[0])["number"] == 1


def test_export_to_a_missing_folder_is_a_one_line_error(run_cli, tmp_path):
    result = run_cli("export", "prs", "-o", str(tmp_path / "nope" / "x.jsonl"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_oversized_imported_diffs_are_truncated(store, tmp_path):
    big = DIFF + "".join(
        f"diff --git a/f{i}.py b/f{i}.py\n--- a/f{i}.py\n+++ b/f{i}.py\n@@ -1 +1 @@\n-a\n+b\n"
        for i in range(2000))
    dump = write_jsonl(tmp_path / "big.jsonl", [export_record(1, diff=big)])
    crawl_import(store, dump, max_diff_bytes=4096, tasks=FILTERS_OFF)
    pr = store.get_pr("acme/calc#1")
    assert pr.diff_truncated and len(pr.diff.encode()) <= 4096 and pr.diff.startswith(DIFF)


def test_bundled_sample_is_real_and_keeps_only_coding_tasks(store):
    report = crawl_import(store, sample_prs_path())
    assert not report.bad_lines
    assert store.prs_per_repo() == {"pallets/jinja": 62, "sindresorhus/ky": 80,
                                    "tiangolo/typer": 38}
    assert report.new == 180 and report.new + sum(report.skipped.values()) == 480
    assert report.skipped["bot_author"] == 99 and report.skipped["release"] == 13
