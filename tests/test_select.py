"""`prsynth select` end to end on the bundled sample: stages, constraints, records, runs."""

import json
import shutil
from collections import Counter

import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError
from prsynth.selection.marks import mark_query
from prsynth.selection.methods import SelectionError
from prsynth.selection.records import stored_selection
from prsynth.selection.run import select_queries
from prsynth.stages.registry import stale_stages
from prsynth.store import Store
from prsynth.text.diffs import file_diffs, is_test_path
from tests.support.selectdata import fill_sample

SELECTED_FIELDS = [
    "rank", "query_id", "query", "pr_id", "repo", "pr_url", "base_sha", "patch", "test_patch",
    "cluster", "cluster_label", "quality", "why",
]


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory, minilm):
    """The bundled sample with one query per PR, brought up to date by a first select."""
    path = tmp_path_factory.mktemp("sample") / "prsynth.db"
    with Store(path) as store:
        fill_sample(store)
        result = select_queries(store, Config().override("select", k=10), name="warm-up")
        assert result.stages_run == ["embed", "score", "dedupe", "cluster"]
    return path


@pytest.fixture
def sample(sample_db, tmp_path):
    path = tmp_path / "prsynth.db"
    shutil.copy(sample_db, path)
    with Store(path) as store:
        yield store


def select(store, name: str = "", **options):
    return select_queries(store, Config().override("select", **options), name=name)


def test_select_on_queries_without_vectors_runs_every_stage_itself(store, minilm):
    fill_sample(store, limit=40)
    assert store.count_vectors() == 0
    result = select(store, k=12)
    assert result.stages_run == ["embed", "score", "dedupe", "cluster"]
    assert len(result.records) == 12
    assert stale_stages(store, Config()) == []
    assert select(store, k=12).stages_run == []


def test_selects_exactly_k_without_duplicates(sample):
    result = select(sample, k=78)
    ids = [r["query_id"] for r in result.records]
    assert len(ids) == len(set(ids)) == 78
    assert [r["rank"] for r in result.records] == list(range(1, 79))
    assert not set(ids) & sample.duplicate_query_ids()
    assert result.summary["excluded"]["duplicate"] == len(sample.duplicate_query_ids())


def test_rejected_are_never_selected_and_pinned_always_are(sample):
    first = select(sample, k=20)
    rejected = [r["query_id"] for r in first.records[:5]]
    unpicked = sorted(set(sample.query_scores()) - {r["query_id"] for r in first.records}
                      - sample.duplicate_query_ids())
    pinned = unpicked[:3]
    for query_id in rejected:
        mark_query(sample, query_id, "reject", "too easy")
    for query_id in pinned:
        mark_query(sample, query_id, "pin")
    again = select(sample, k=20)
    ids = [r["query_id"] for r in again.records]
    assert not set(ids) & set(rejected)
    assert ids[:3] == pinned and all(r["why"]["pinned"] for r in again.records[:3])
    assert again.summary["excluded"]["rejected"] == 5 and again.summary["pinned"] == 3
    assert mark_query(sample, pinned[0], None) == f"cleared the mark of {pinned[0]}"
    assert pinned[0] not in sample.marks()


def test_caps_and_min_quality_are_respected(sample):
    result = select(sample, k=30, per_repo_cap=12, per_cluster_cap=6, min_quality=0.7)
    assert max(Counter(r["repo"] for r in result.records).values()) <= 12
    assert max(Counter(r["cluster"] for r in result.records).values()) <= 6
    assert min(r["quality"] for r in result.records) >= 0.7
    assert result.summary["excluded"]["below_min_quality"] > 0


def test_same_seed_same_items_and_random_seeds_differ(sample):
    first = [r["query_id"] for r in select(sample, k=25, seed=4).records]
    again = [r["query_id"] for r in select(sample, k=25, seed=4).records]
    assert first == again
    one = [r["query_id"] for r in select(sample, k=25, method="random", seed=1).records]
    other = [r["query_id"] for r in select(sample, k=25, method="random", seed=2).records]
    assert one != other


def test_facility_location_covers_better_than_random_and_scores_higher(sample):
    facility = select(sample, k=20).summary
    random = select(sample, k=20, method="random").summary
    assert facility["coverage"] > facility["random_coverage"]
    assert facility["coverage"] > random["coverage"]
    assert facility["mean_quality"] > random["mean_quality"]


def test_above_sample_above_select_samples_and_still_keeps_the_repository_cap(sample):
    exact = select(sample, k=20, per_repo_cap=8)
    sampled = select(sample, k=20, per_repo_cap=8, sample_above=50)
    assert all("sampled" in r["why"] for r in sampled.records)
    assert all("sampled" not in r["why"] for r in exact.records)
    assert len({r["query_id"] for r in sampled.records}) == 20
    assert max(Counter(r["repo"] for r in sampled.records).values()) <= 8
    assert sampled.summary["coverage"] >= 0.97 * exact.summary["coverage"]
    assert sampled.summary["coverage"] > sampled.summary["random_coverage"]


def test_selected_records_are_checkout_able_with_the_diff_split(sample):
    result = select(sample, k=78)
    for record in result.records:
        assert list(record)[:len(SELECTED_FIELDS)] == SELECTED_FIELDS
        pr = sample.get_pr(record["pr_id"])
        assert record["base_sha"] == pr.base_sha and record["pr_url"] == pr.url
        assert all(not is_test_path(s.path) for s in file_diffs(record["patch"]))
        assert all(is_test_path(s.path) for s in file_diffs(record["test_patch"]))
        code = {s.path for s in file_diffs(record["patch"])}
        tests = {s.path for s in file_diffs(record["test_patch"])}
        assert code | tests == {s.path for s in file_diffs(pr.diff)}
        assert set(record["why"]) >= {"coverage_gain", "quality_gain"}
        assert record["cluster_label"] == sample.cluster_labels()[record["cluster"]]
    assert sum(1 for r in result.records if r["test_patch"]) > 40


def test_runs_are_stored_named_and_listed(sample):
    select(sample, k=5, name="small")
    select(sample, k=7)
    runs = sample.selections()
    assert [r["name"] for r in runs][:2] == ["selection-3", "small"]
    assert [r["items"] for r in runs][:2] == [7, 5]
    latest = sample.latest_selection()
    assert latest["k"] == 7 and latest["summary"]["selected"] == 7
    items = sample.selection_items(latest["id"])
    assert [i["rank"] for i in items] == list(range(1, 8))
    assert set(items[0]) == {"rank", "query_id", "quality", "cluster", "why"}
    selection, records = stored_selection(sample, "small")
    assert selection["k"] == 5 and len(records) == 5
    with pytest.raises(ConfigError, match="selection 'nope' does not exist"):
        stored_selection(sample, "nope")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"k": 0}, SelectionError, "--k 0 must be at least 1"),
        ({"k": 5000}, SelectionError, "more items than there are candidates"),
        ({"k": 40, "per_repo_cap": 5}, SelectionError, "--per-repo-cap 5 allows at most 15"),
        ({"k": 10, "min_quality": 1.5}, ConfigError, "--min-quality 1.5 must be in"),
        ({"k": 10, "min_quality": 1.0}, MissingStageError, "no candidates left"),
        ({"k": 10, "method": "best"}, ConfigError, "--method 'best' is unknown"),
    ],
)
def test_impossible_selections_are_one_line_errors(sample, options, error, message):
    with pytest.raises(error, match=message):
        select(sample, **options)


def test_marking_an_unknown_query_is_an_error(sample):
    with pytest.raises(ConfigError, match="query 'nope' does not exist"):
        mark_query(sample, "nope", "pin")


def test_nothing_selected_yet_says_what_to_run(store):
    with pytest.raises(MissingStageError, match="run `prsynth select --k 78` first"):
        stored_selection(store)


def test_cli_select_mark_selections_export_and_clusters(sample_db, store_path, run_cli, tmp_path):
    shutil.copy(sample_db, store_path)
    out = tmp_path / "chosen.jsonl"
    result = run_cli("select", "--k", "78", "-o", str(out), "--per-repo-cap", "30")
    assert result.exit_code == 0, result.output
    assert "for a random choice of the same size" in " ".join(result.output.split())
    lines = out.read_text().splitlines()
    assert len(lines) == 78 and json.loads(lines[0])["rank"] == 1
    query_id = json.loads(lines[0])["query_id"]
    assert run_cli("mark", query_id, "--reject", "--note", "dup of #3").exit_code == 0
    listed = run_cli("mark", "--list", "--json")
    assert json.loads(listed.stdout)[0]["note"] == "dup of #3"
    second = run_cli("select", "--k", "78", "--name", "after-review", "--json")
    assert json.loads(second.stdout)["name"] == "after-review"
    runs = json.loads(run_cli("selections", "--json").stdout)
    assert [r["name"] for r in runs][:2] == ["after-review", "selection-2"]
    exported = tmp_path / "selected.jsonl"
    assert run_cli("export", "selected", "-o", str(exported)).exit_code == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(rows) == 78 and query_id not in {r["query_id"] for r in rows}
    clusters = json.loads(run_cli("clusters", "--json").stdout)
    assert sum(c["selected"] for c in clusters) <= 78
    assert all(c["mean_quality"] is not None for c in clusters)
    stats = json.loads(run_cli("stats", "--json").stdout)
    assert stats["selected"] == 78 and stats["rejected"] == 1 and stats["scored"] > 78


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["select", "--k", "0"], "Error: --k 0 must be at least 1"),
        (["select", "--k", "100000"], "more items than there are candidates"),
        (["select", "--k", "50", "--per-cluster-cap", "1"], "--per-cluster-cap 1 allows at most"),
        (["mark", "nope", "--pin"], "Error: query 'nope' does not exist"),
        (["export", "selected", "--name", "nope"], "Error: selection 'nope' does not exist"),
    ],
)
def test_cli_bad_input_is_one_line(sample_db, store_path, run_cli, args, message):
    shutil.copy(sample_db, store_path)
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_exported_selection_loads_with_datasets_and_pandas(sample_db, store_path, run_cli,
                                                           tmp_path):
    import datasets
    import pandas as pd

    shutil.copy(sample_db, store_path)
    with Store(store_path) as store:
        pinned = sorted(store.duplicate_query_ids())[0]  # pins even win over duplicates
        mark_query(store, pinned, "pin")
        select(store, k=10)
    jsonl, parquet = tmp_path / "selected.jsonl", tmp_path / "selected.parquet"
    assert run_cli("export", "selected", "-o", str(jsonl)).exit_code == 0
    assert run_cli("export", "selected", "--format", "parquet", "-o", str(parquet)).exit_code == 0
    loaded = datasets.load_dataset("json", data_files=str(jsonl), split="train",
                                   cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == 10 and loaded.column_names[:len(SELECTED_FIELDS)] == SELECTED_FIELDS
    assert loaded[0]["query_id"] == pinned and loaded[0]["why"]["pinned"] is True
    assert loaded[0]["cluster"] is None  # duplicates are not clustered
    frame = pd.read_parquet(parquet)
    assert list(frame["rank"]) == list(range(1, 11))
    assert frame["why"][0]["pinned"] and frame["why"][1]["coverage_gain"] > 0
    assert frame["patch"].str.startswith("diff --git").all()
    queries = tmp_path / "queries.jsonl"
    assert run_cli("export", "queries", "-o", str(queries)).exit_code == 0
    first = json.loads(queries.read_text().splitlines()[0])
    assert {"id", "pr_id", "query", "prompt", "model", "task_type"} <= set(first)


def test_select_settings_come_from_the_config_and_flags_override_them(sample):
    config = Config()
    config.select.k = 9
    config.select.per_repo_cap = 2
    config.select.quality_weight = 0.0
    config = config.override("select", k=None, per_repo_cap=3)
    assert (config.select.k, config.select.per_repo_cap, config.select.quality_weight) == (
        9, 3, 0.0)
    result = select_queries(sample, config)
    assert len(result.records) == 9
    assert max(Counter(r["repo"] for r in result.records).values()) <= 3
    assert all(r["why"]["quality_gain"] == 0 for r in result.records)
    with pytest.raises(ConfigError, match="--quality-weight -1"):
        select(sample, k=5, quality_weight=-1)


def test_verified_only_selects_verified_tasks_whose_records_carry_the_test_lists(
        sample_db, store_path, run_cli, tmp_path):
    shutil.copy(sample_db, store_path)
    with Store(store_path) as store:
        pr_ids = sorted({q.pr_id for q in store.iter_queries()})
        for number, pr_id in enumerate(pr_ids[:30]):
            status = "verified" if number % 2 == 0 else "tests_pass_before"
            store.put_verification({
                "pr_id": pr_id, "environment": "venv:python3.11", "status": status,
                "fail_to_pass": ["tests/test_a.py::test_new"] if status == "verified" else [],
                "pass_to_pass": ["tests/test_a.py::test_old"], "python_version": "3.11.2",
                "test_command": "python -m pytest tests/test_a.py", "requirements": ["x==1"],
            }, fingerprint="f")
    out = tmp_path / "verified.jsonl"
    result = run_cli("select", "--k", "10", "--verified-only", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "score" in result.output  # the verified feature changed the scores
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 10 and all(r["verified"] is True for r in rows)
    assert all(r["FAIL_TO_PASS"] == ["tests/test_a.py::test_new"] for r in rows)
    assert rows[0]["PASS_TO_PASS"] == ["tests/test_a.py::test_old"]
    assert rows[0]["test_command"].startswith("python -m pytest")
    assert rows[0]["environment"]["python"] == "3.11.2"
    stats = json.loads(run_cli("stats", "--json").stdout)
    assert stats["verification"] == {"tests_pass_before": 15, "verified": 15}
    with Store(store_path) as store:
        from prsynth.outputs.report import build_report
        from prsynth.stages.score import explain

        assert {r["verify_status"] for r in build_report(store, Config()).selected} == {
            "verified"}
        features = explain(store, rows[0]["query_id"])["features"]
        assert {"feature": "verified", "value": 1.0}.items() <= next(
            f for f in features if f["feature"] == "verified").items()
def test_by_default_no_repository_takes_more_than_40_percent_of_k(sample):
    result = select(sample, k=40)
    assert result.summary["per_repo_cap"] == 16
    assert max(Counter(r["repo"] for r in result.records).values()) <= 16
    uncapped = select(sample, k=40, per_repo_cap=0)
    assert uncapped.summary["per_repo_cap"] == 0


def test_task_type_quotas_are_met_exactly_when_the_candidates_allow(sample, run_cli,
                                                                      store_path):
    result = select(sample, k=30, quotas={"bugfix": 0.5, "feature": 0.3})
    mix = Counter(r["task_type"] for r in result.records)
    assert mix["bugfix"] == 15 and mix["feature"] == 9
    assert sum(n for t, n in mix.items() if t not in ("bugfix", "feature")) == 6
    shown = run_cli("select", "--k", "20", "--quota", "bugfix=0.5,feature=0.25", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["summary"]["per_task_type"]["bugfix"] == 10
    bad = run_cli("select", "--k", "20", "--quota", "bugfix=0.8,feature=0.4")
    assert bad.exit_code == 2 and "quotas add up to 1.20" in bad.output


def test_why_is_a_readable_sentence_beside_its_numbers(sample):
    records = select(sample, k=15).records
    for record in records:
        why = record["why"]
        assert {"coverage_gain", "quality_gain", "covers", "reason"} <= set(why)
        assert why["reason"].startswith("Chosen mostly for")
        assert f"closest pick for {why['covers']} of " in why["reason"]
        assert f"quality {record['quality']:.2f}" in why["reason"]
    assert sum(r["why"]["covers"] for r in records) == select(sample, k=15).summary["candidates"]


def test_queries_of_prs_the_filters_drop_later_are_never_candidates(sample):
    first = select(sample, k=10).records[0]
    sample.record_drop("crawl", first["pr_id"], "release", repo=first["repo"])
    again = select(sample, k=10)
    assert again.summary["excluded"]["not_a_task"] == 1
    assert first["query_id"] not in {r["query_id"] for r in again.records}
