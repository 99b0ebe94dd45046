"""Quality scores: named features, weights, explanations, the score stage."""


import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.records import FileChange, PullRequest, Query
from prsynth.stages.registry import run_stage
from prsynth.stages.score import (
    FEATURES,
    explain,
    features_of,
    load_weights_file,
    quality,
    resolve_weights,
)

GOOD = (
    "The `parse_rows()` helper in tidewater/io.py raises KeyError when a CSV row has "
    "fewer columns than the header. Make it fill the missing cells with None and add a "
    "test for a short row, keeping the --strict flag behaviour unchanged."
)
VAGUE = "fix this pr like we talked"


# A code change to parse_rows and a test that calls it: statically verifiable.
TESTED_DIFF = (
    "diff --git a/tidewater/io.py b/tidewater/io.py\n--- a/tidewater/io.py\n"
    "+++ b/tidewater/io.py\n@@ -10,2 +10,3 @@ def parse_rows(text):\n"
    "+    rows = [r + [None] * (width - len(r)) for r in rows]\n"
    "diff --git a/tests/test_io.py b/tests/test_io.py\n--- a/tests/test_io.py\n"
    "+++ b/tests/test_io.py\n@@ -1 +1,3 @@\n+def test_short_row():\n"
    "+    assert parse_rows('a,b\\n1') == [['1', None]]\n"
)


def add(store, number, text, *, files=None, body="", stars=0, license="", fields=None,
        additions=40, deletions=5, diff=""):
    pr = PullRequest(
        repo="lumen-labs/tidewater", number=number, title=f"change {number}", body=body,
        additions=additions, deletions=deletions, stars=stars, license=license,
        files=[FileChange(p, "modified", 10, 1) for p in (files or [])], source="import",
        diff=diff,
    )
    store.put_pr(pr)
    query_id = f"{pr.id}/vibe_request/offline-baseline"
    store.put_query(Query(query_id, pr.id, text, "vibe_request@1", "offline-baseline",
                          fields=fields or {}))
    return query_id


def inputs(store):
    return {item.query_id: item for item in store.score_inputs()}


def test_a_specific_request_for_a_tested_pr_outscores_a_vague_one(store):
    good = add(store, 1, GOOD, files=["tidewater/io.py", "tidewater/cli.py",
                                      "tests/test_io.py"],
               body="Short rows crash the importer; see the reproduction below.", stars=2500,
               license="MIT", fields={"difficulty": "hard", "leakage": 0.0}, diff=TESTED_DIFF)
    vague = add(store, 2, VAGUE, files=["README"], additions=1, deletions=0,
                fields={"difficulty": "easy", "leakage": 0.8})
    values = {q: features_of(item) for q, item in inputs(store).items()}
    assert values[good] == {
        "length": 1.0, "specificity": 1.0, "actionable": 1.0, "self_contained": 1.0,
        "leakage": 1.0, "difficulty": 1.0, "touches_tests": 1.0, "diff_size": 1.0,
        "multi_file": 1.0, "described": 1.0, "stars": 1.0, "license": 1.0, "language": 1.0,
    }
    assert values[vague]["self_contained"] == 0.0  # "this pr" and "we talked"
    assert values[vague]["leakage"] == pytest.approx(0.2)
    assert values[vague]["touches_tests"] == 0.0
    assert values[vague]["license"] == 0.0 and values[vague]["stars"] == 0.0
    report = run_stage(store, Config(), "score")
    assert explain(store, good)["evidence"]["test_match"] == ["parse_rows"]
    scores = store.query_scores()
    assert scores[good] == 1.0 and 0.0 <= scores[vague] < 0.5
    assert report.queries == 2 and "scored 2 queries" in report.summary()


def test_bands_fall_off_outside_the_useful_range(store):
    short = add(store, 1, "Fix the bug in parse_rows", additions=2, deletions=0)
    huge = add(store, 2, GOOD, additions=9000, deletions=1000)
    values = {q: features_of(item) for q, item in inputs(store).items()}
    assert values[short]["length"] < 0.5 and values[short]["diff_size"] == 0.2
    assert values[huge]["diff_size"] < 0.1


def test_non_english_request_scores_lower_on_language(store):
    russian = add(store, 1, "Исправь падение функции parse_rows при коротких строках CSV")
    values = features_of(inputs(store)[russian])
    assert values["language"] < 0.3


def test_judge_rating_is_one_more_feature():
    values = {"length": 1.0, "leakage": 1.0}
    weights = resolve_weights()
    assert quality(values, weights) == 1.0
    assert quality({**values, "judge": 0.0}, weights) == pytest.approx(3.5 / 6.5, abs=1e-4)


def test_explain_lists_every_feature_and_contributions_add_up(store):
    query_id = add(store, 1, GOOD, files=["tidewater/io.py"], license="GPL-3.0")
    run_stage(store, Config(), "score")
    detail = explain(store, query_id)
    assert [row["feature"] for row in detail["features"]] == [f for f in FEATURES if f != "judge"]
    total = sum(row["contribution"] for row in detail["features"])
    assert total == pytest.approx(detail["quality"], abs=1e-3)
    assert detail["stored_quality"] == detail["quality"]
    license_row = next(r for r in detail["features"] if r["feature"] == "license")
    assert license_row["value"] == 0.5 and license_row["weight"] == FEATURES["license"].weight


def test_explain_of_an_unknown_query_is_a_one_line_error(store):
    with pytest.raises(ConfigError, match="query 'nope' does not exist"):
        explain(store, "nope")


def test_weights_file_in_each_accepted_form(tmp_path):
    plain = tmp_path / "plain.toml"
    plain.write_text("length = 3\nstars = 0\n")
    table = tmp_path / "table.toml"
    table.write_text("[weights]\nlength = 3\n")
    config = tmp_path / "prsynth.toml"
    config.write_text("[score.weights]\nlength = 3\n")
    assert load_weights_file(plain) == {"length": 3.0, "stars": 0.0}
    assert load_weights_file(table) == load_weights_file(config) == {"length": 3.0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lenght = 2\n", "unknown feature 'lenght'; features are length, specificity"),
        ("length = -1\n", "weight of 'length' must be a number ≥ 0"),
        ("length = 'high'\n", "weight of 'length' must be a number"),
        ("length = \n", "not valid TOML"),
    ],
)
def test_bad_weights_file_is_a_one_line_error(tmp_path, text, message):
    path = tmp_path / "weights.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_weights_file(path)


def test_reweighting_changes_scores(store):
    query_id = add(store, 1, VAGUE)
    base = run_stage(store, Config(), "score").mean
    run_stage(store, Config().override("score", weights={"self_contained": 50.0}), "score")
    assert store.query_scores()[query_id] < base


def test_score_cli_with_weights_explain_and_json(run_cli, store_path, tmp_path):
    from prsynth.store import Store

    with Store(store_path) as opened:
        query_id = add(opened, 1, GOOD, files=["tests/test_io.py"])
    weights = tmp_path / "w.toml"
    weights.write_text("length = 0\n")
    result = run_cli("score", "--weights", str(weights), "--json")
    assert result.exit_code == 0, result.output
    assert '"length": 0.0' in result.output and "scored 1 queries" in result.output
    shown = run_cli("score", "--explain", query_id)
    assert shown.exit_code == 0 and "specificity" in shown.output and "contribution" in shown.output
    bad = tmp_path / "bad.toml"
    bad.write_text("judgement = 1\n")
    failed = run_cli("score", "--weights", str(bad))
    assert failed.exit_code == 2
    assert failed.output.strip().splitlines() == [
        f"Error: weights file {bad}: unknown feature 'judgement'; features are "
        + ", ".join(FEATURES)
    ]
    missing = run_cli("score", "--explain", "nope")
    assert missing.exit_code == 2 and "query 'nope' does not exist" in missing.output


def test_unknown_feature_in_the_config_is_a_one_line_error(run_cli, tmp_path):
    (tmp_path / "prsynth.toml").write_text("[score.weights]\nfoo = 1\n")
    result = run_cli("score")
    assert result.exit_code == 2
    assert "unknown feature 'foo'" in result.output and "Traceback" not in result.output


def test_judge_ratings_when_stored_count_as_a_feature_and_make_scores_stale(tmp_path):
    from prsynth.config import Config
    from prsynth.stages.registry import stale_stages
    from prsynth.store import Store

    class JudgedStore(Store):
        ratings: dict = {}

        def judge_ratings(self):
            return self.ratings

    with JudgedStore(tmp_path / "judged.db") as store:
        rated = add(store, 1, GOOD)
        other = add(store, 2, GOOD.replace("parse_rows", "read_rows"))
        run_stage(store, Config(), "score")
        before = store.query_scores()
        JudgedStore.ratings = {rated: (1, "the request gives the answer away")}
        assert "score" in stale_stages(store, Config())
        run_stage(store, Config(), "score")
        after = store.query_scores()
        assert after[rated] < before[rated] and after[other] == before[other]
        judge_row = next(r for r in explain(store, rated)["features"] if r["feature"] == "judge")
        assert judge_row["value"] == 0.0 and judge_row["weight"] == 3.0
