import math

import numpy as np
import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError
from prsynth.stages.dedupe import EXACT_LIMIT, near_duplicate_pairs
from prsynth.stages.registry import run_stage
from prsynth.store import Store
from tests.support.vectordata import PARAPHRASES, add_query, fill_topics

DIFF = (
    "diff --git a/app/config.py b/app/config.py\n--- a/app/config.py\n+++ b/app/config.py\n"
    "@@ -10,3 +10,4 @@ def load(path):\n     text = path.read_text()\n"
    "+    if not text.strip():\n+        return {}\n     return parse(text)\n"
)
# The same change landing at other line numbers: a backport to a maintenance branch.
BACKPORT = DIFF.replace("@@ -10,3 +10,4 @@", "@@ -7,3 +7,4 @@")


def embedded(store: Store) -> Store:
    run_stage(store, Config(), "embed")
    return store


def test_exact_duplicates_fold_case_and_whitespace_and_keep_the_oldest(store, minilm):
    fill_topics(store)
    add_query(store, "dup-late", "add a  DARK mode toggle to the settings page and remember "
              "the choice", number=500, merged_at="2025-06-01T00:00:00Z")
    report = run_stage(embedded(store), Config().override("dedupe", threshold=0.92), "dedupe")
    groups = store.duplicate_groups()
    original = next(q for q, t in _texts(store).items()
                    if t.startswith("Add a dark mode toggle"))
    assert [d.query_id for d in groups[original]] == ["dup-late"]
    assert groups[original][0].reason == "exact"
    assert report.reasons == {"exact": 1}
    assert store.duplicate_query_ids() == {"dup-late"}
    assert store.count_queries() == 25  # recorded, not deleted


def test_backport_carrying_the_same_change_is_a_duplicate_of_the_original(store, minilm):
    add_query(store, "orig", "Return an empty config when the config file is empty",
              number=10, diff=DIFF, merged_at="2024-03-01T00:00:00Z")
    add_query(store, "backport", "Backport: handle empty configuration files in the loader",
              number=11, diff=BACKPORT, merged_at="2024-04-01T00:00:00Z")
    add_query(store, "other", "Add a dark mode toggle to the settings page", number=12)
    run_stage(embedded(store), Config().override("dedupe", threshold=0.92), "dedupe")
    groups = store.duplicate_groups()
    assert list(groups) == ["orig"]
    assert groups["orig"][0].query_id == "backport"
    assert groups["orig"][0].reason == "same_change"


def test_paraphrases_are_near_duplicates_but_distinct_requests_are_not(store, minilm):
    topic_of = fill_topics(store)
    texts = _texts(store)
    for n, (_, paraphrase) in enumerate(PARAPHRASES):
        add_query(store, f"para-{n}", paraphrase, number=600 + n,
                  merged_at="2025-01-01T00:00:00Z")
    report = run_stage(embedded(store), Config().override("dedupe", threshold=0.92), "dedupe")
    assert store.duplicate_query_ids() == {"para-0", "para-1"}
    assert report.reasons == {"near": 2}
    for group, members in store.duplicate_groups().items():
        assert group in topic_of and texts[group] in dict(PARAPHRASES)
        assert all(0.92 <= m.similarity < 1 for m in members)


def test_best_scored_member_represents_the_group_when_scores_exist(tmp_path, minilm):
    class ScoredStore(Store):
        def query_scores(self) -> dict[str, float]:
            return {"old": 0.2, "new": 0.9}

    with ScoredStore(tmp_path / "scored.db") as store:
        add_query(store, "old", "Fix the typo in the README", number=1,
                  merged_at="2024-01-01T00:00:00Z")
        add_query(store, "new", "fix the typo in the readme", number=2,
                  merged_at="2024-05-01T00:00:00Z")
        run_stage(embedded(store), Config().override("dedupe", threshold=0.92), "dedupe")
        assert list(store.duplicate_groups()) == ["new"]
        assert store.duplicate_query_ids() == {"old"}


@pytest.mark.parametrize("threshold", [0, -0.5, 1.01, 2, math.nan])
def test_threshold_outside_zero_one_is_rejected_and_nothing_is_written(
    store, minilm, threshold
):
    fill_topics(store)
    embedded(store)
    with pytest.raises(ConfigError, match=r"must be a cosine similarity in \(0, 1\]"):
        run_stage(store, Config().override("dedupe", threshold=threshold), "dedupe")
    assert store.stage_fingerprint("dedupe") is None
    assert store.duplicate_query_ids() == set()


def test_threshold_one_groups_only_identical_vectors(store, minilm):
    fill_topics(store)
    add_query(store, "same", "Add a dark mode toggle to the settings page and remember the "
              "choice", number=700, merged_at="2025-01-01T00:00:00Z")
    add_query(store, "para", PARAPHRASES[0][1], number=701, merged_at="2025-01-01T00:00:00Z")
    run_stage(embedded(store), Config().override("dedupe", threshold=1.0), "dedupe")
    assert store.duplicate_query_ids() == {"same"}


def test_failed_rerun_keeps_the_previous_groups(store, minilm):
    fill_topics(store)
    add_query(store, "dup", "ADD A DARK MODE TOGGLE TO THE SETTINGS PAGE AND REMEMBER THE CHOICE",
              number=800, merged_at="2025-01-01T00:00:00Z")
    run_stage(embedded(store), Config().override("dedupe", threshold=0.92), "dedupe")
    before = (store.duplicate_groups(), store.stage_fingerprint("dedupe"))
    add_query(store, "unembedded", "Add a CSV export to the reports page", number=801)
    with pytest.raises(MissingStageError, match="run `prsynth embed` first"):
        run_stage(store, Config().override("dedupe", threshold=0.92), "dedupe")
    assert (store.duplicate_groups(), store.stage_fingerprint("dedupe")) == before


def test_dupes_command_shows_kept_and_duplicate_texts_side_by_side(run_cli, store_path, minilm):
    with Store(store_path) as store:
        add_query(store, "q1", "Fix the typo in the README", number=1,
                  merged_at="2024-01-01T00:00:00Z")
        add_query(store, "q2", "fix the   typo in the readme", number=2,
                  merged_at="2024-02-01T00:00:00Z")
        add_query(store, "q3", "Add a dark mode toggle to the settings page", number=3)
    assert run_cli("embed").exit_code == 0
    result = run_cli("dedupe", "--threshold", "0.95")
    assert result.exit_code == 0, result.output
    assert "1 of 3 queries are duplicates" in result.output
    table = run_cli("dupes", "--limit", "5")
    assert table.exit_code == 0, table.output
    line = next(line for line in table.stdout.splitlines() if "q1" in line)
    assert "q2" in line and "exact" in line  # kept and duplicate on one row
    assert "Fix the typo" in table.stdout and "fix the   typo" in table.stdout
    as_json = run_cli("dupes", "--json")
    assert '"reason": "exact"' in as_json.stdout


def test_dupes_before_dedupe_says_what_to_run(run_cli, store_path):
    Store(store_path).close()  # `dupes` only reads: it never creates the store
    result = run_cli("dupes")
    assert result.exit_code == 1 and "run `prsynth dedupe` first" in result.output


def test_dedupe_command_rejects_a_threshold_above_one(run_cli, store_path, minilm):
    with Store(store_path) as store:
        add_query(store, "q1", "Fix the typo in the README", number=1)
    run_cli("embed")
    result = run_cli("dedupe", "--threshold", "1.5")
    assert result.exit_code == 2 and "(0, 1]" in result.output


def test_exact_range_search_returns_each_pair_once_with_its_cosine():
    vectors = np.eye(4, dtype=np.float32)
    vectors[3] = _unit([1, 0.1, 0, 0])
    pairs = near_duplicate_pairs(vectors, 0.9)
    assert pairs.shape == (1, 3)
    assert (int(pairs[0, 0]), int(pairs[0, 1])) == (0, 3)
    assert pairs[0, 2] == pytest.approx(float(vectors[0] @ vectors[3]), abs=1e-6)


def test_approximate_index_finds_planted_pairs_on_a_large_set():
    rng = np.random.default_rng(7)
    n, dim = EXACT_LIMIT + 5_000, 48
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sources = rng.choice(n, 300, replace=False)
    targets = rng.choice(np.setdiff1d(np.arange(n), sources), 300, replace=False)
    noise = rng.standard_normal((300, dim)).astype(np.float32)
    vectors[targets] = vectors[sources] + 0.08 * noise / np.linalg.norm(noise, axis=1)[:, None]
    vectors[targets] /= np.linalg.norm(vectors[targets], axis=1, keepdims=True)
    pairs = near_duplicate_pairs(vectors, 0.95)
    found = {(int(i), int(j)) for i, j, _ in pairs}
    planted = {(min(a, b), max(a, b)) for a, b in zip(sources, targets, strict=True)}
    assert len(found & planted) / len(planted) >= 0.98
    assert (pairs[:, 2] >= 0.95 - 1e-6).all()


def test_dedupe_uses_the_configured_model(store, minilm):
    fill_topics(store)
    with pytest.raises(MissingStageError, match="have no other-model vector"):
        run_stage(embedded(store), _config_with_model("other-model"), "dedupe")


def _config_with_model(model: str) -> Config:
    config = Config()
    config.embed.model = model
    return config


def _texts(store: Store) -> dict[str, str]:
    return {s.query_id: s.text for s in store.query_sources()}


def _unit(values) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)
