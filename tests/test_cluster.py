import json
from collections import Counter

import numpy as np
import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError, PrsynthError
from prsynth.stages.cluster import (
    auto_k,
    ctfidf_labels,
    pca_2d,
    relabel_clusters,
    resolve_k,
    spherical_kmeans,
)
from prsynth.stages.registry import run_stage
from prsynth.store import Store
from tests.support.vectordata import PARAPHRASES, add_query, fill_topics


def prepared(store: Store) -> dict[str, str]:
    """The four topics plus one paraphrase, embedded and deduplicated."""
    topic_of = fill_topics(store)
    add_query(store, "para", PARAPHRASES[0][1], repo="acme/frontend", number=900,
              merged_at="2025-01-01T00:00:00Z")
    run_stage(store, Config(), "embed")
    run_stage(store, Config().override("dedupe", threshold=0.92), "dedupe")
    return topic_of


def blobs(seed: int = 0, per_blob: int = 50, dim: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.eye(dim, dtype=np.float32)[:4]
    truth = np.repeat(np.arange(4), per_blob)
    vectors = centers[truth] + 0.15 * rng.standard_normal((4 * per_blob, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), truth


def test_spherical_kmeans_recovers_planted_groups_and_is_deterministic():
    vectors, truth = blobs()
    first, centroids, distances = spherical_kmeans(vectors, 4, seed=3)
    second, _, again = spherical_kmeans(vectors, 4, seed=3)
    assert np.array_equal(first, second) and np.allclose(distances, again)
    for blob in range(4):
        assert len(set(first[truth == blob].tolist())) == 1
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
    assert (distances >= 0).all() and (distances < 0.5).all()
    assert np.bincount(first).tolist() == sorted(np.bincount(first).tolist(), reverse=True)


@pytest.mark.parametrize("bad", ["nan", "zero"])
def test_clustering_refuses_nan_or_zero_vectors(bad):
    vectors, _ = blobs()
    vectors[5] = np.nan if bad == "nan" else 0.0
    with pytest.raises(PrsynthError, match="NaN, infinite or all zero"):
        spherical_kmeans(vectors, 4)


def test_fewer_items_than_clusters_is_an_error():
    vectors, _ = blobs(per_blob=1)
    with pytest.raises(ConfigError, match="cannot make 5 clusters from 4 items"):
        spherical_kmeans(vectors, 5)
    with pytest.raises(ConfigError, match="pass --k 4 or less"):
        resolve_k("5", 4)


@pytest.mark.parametrize("k", ["0", "-3", "many", "2.5"])
def test_k_must_be_a_positive_number_or_auto(k):
    with pytest.raises(ConfigError, match="--k"):
        resolve_k(k, 100)


def test_auto_k_is_the_documented_rule():
    assert [auto_k(n) for n in (0, 1, 3, 100, 1000, 10_000, 1_000_000)] == [
        0, 1, 1, 7, 22, 71, 300,
    ]
    assert resolve_k("auto", 100) == resolve_k("AUTO", 100) == 7


def test_ctfidf_labels_prefer_distinctive_terms_over_frequent_ones():
    texts = [
        "fix the parser bug", "fix the parser crash", "fix parser tokenizer", "fix typo",
        "fix the navbar", "fix navbar button", "fix the navbar color", "fix typo",
    ]
    assignments = [0, 0, 0, 0, 1, 1, 1, 1]
    # "fix" is the most frequent word of both clusters, so plain counts would pick it.
    assert Counter(" ".join(texts[:4]).split()).most_common(1)[0][0] == "fix"
    labels = ctfidf_labels(texts, assignments)
    assert labels[0][1][0] == "parser" and labels[1][1][0] == "navbar"
    assert labels[0][0] == " / ".join(labels[0][1])


def test_pca_map_is_two_dimensional_and_stable():
    vectors, _ = blobs()
    coordinates = pca_2d(vectors)
    assert coordinates.shape == (200, 2)
    assert np.allclose(coordinates, pca_2d(vectors.copy()))


def test_cluster_stores_topics_labels_distances_and_a_map_for_every_query(store, minilm):
    topic_of = prepared(store)
    report = run_stage(store, Config().override("cluster", k=4, seed=0), "cluster")
    assignments = store.clusters()
    assert "para" not in assignments and set(assignments) == set(topic_of)
    assert purity(assignments, topic_of) >= 0.66  # chance is about 0.35
    assert sum(report.sizes.values()) == 24 and report.duplicates == 1
    texts = {s.query_id: s.text.lower() for s in store.query_sources()}
    for cluster, label in store.cluster_labels().items():
        members = [q for q, (c, _) in assignments.items() if c == cluster]
        for term in label.split(" / "):
            assert any(term in texts[q] for q in members), (label, term)
    assert all(0 <= d <= 1 for _, d in assignments.values())
    assert set(store.map_coordinates()) == set(topic_of) | {"para"}


def test_same_inputs_and_seed_give_the_same_clusters(store, minilm):
    prepared(store)
    run_stage(store, Config().override("cluster", k="auto", seed=5), "cluster")
    first = (store.clusters(), store.cluster_labels(), store.map_coordinates())
    run_stage(store, Config().override("cluster", k="auto", seed=5), "cluster")
    assert (store.clusters(), store.cluster_labels(), store.map_coordinates()) == first


def test_labels_are_recomputable_without_reclustering(store, minilm):
    prepared(store)
    run_stage(store, Config().override("cluster", k=4), "cluster")
    labels, assignments = store.cluster_labels(), store.clusters()
    assert relabel_clusters(store) == labels
    assert store.clusters() == assignments


def test_too_many_clusters_writes_nothing_and_keeps_the_previous_clusters(store, minilm):
    prepared(store)
    run_stage(store, Config().override("cluster", k=4), "cluster")
    before = (store.clusters(), store.stage_fingerprint("cluster"))
    with pytest.raises(ConfigError, match="more clusters than there are non-duplicate"):
        run_stage(store, Config().override("cluster", k=25), "cluster")
    assert (store.clusters(), store.stage_fingerprint("cluster")) == before


def test_cluster_refuses_duplicate_groups_older_than_the_queries(store, minilm):
    prepared(store)
    add_query(store, "late", "Add rate limiting to the public API", number=950)
    run_stage(store, Config(), "embed")
    with pytest.raises(MissingStageError, match="out of date"):
        run_stage(store, Config().override("cluster", k=4), "cluster")


def test_cluster_before_dedupe_says_what_to_run(store, minilm):
    fill_topics(store)
    run_stage(store, Config(), "embed")
    with pytest.raises(MissingStageError, match="run `prsynth dedupe` first"):
        run_stage(store, Config().override("cluster", k=4), "cluster")


def test_clusters_command_lists_and_shows_clusters(run_cli, store_path, minilm):
    with Store(store_path) as store:
        topic_of = prepared(store)
    result = run_cli("cluster", "--k", "4", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "24 non-duplicate queries in 4 clusters" in result.output
    listing = json.loads(run_cli("clusters", "--json").stdout)
    sizes = [row["size"] for row in listing]
    assert sum(sizes) == 24 and sizes == sorted(sizes, reverse=True) and len(sizes) == 4
    assert all(1 <= row["repos"] <= 4 and row["label"] for row in listing)
    assert all(row["mean_quality"] is None and row["selected"] is None for row in listing)
    table = run_cli("clusters")
    assert table.exit_code == 0
    for row in listing:
        # rich wraps long cells at the test terminal's 80 columns: check the first term.
        assert row["label"].split(" / ")[0] in table.stdout
    detail = json.loads(run_cli("clusters", "show", "2", "--limit", "3", "--json").stdout)
    distances = [m["distance"] for m in detail["members"]]
    assert len(distances) == 3 and distances == sorted(distances)
    assert {m["query_id"] for m in detail["members"]} <= set(topic_of)
    assert all(m["pr_id"].startswith("acme/") and m["title"] for m in detail["members"])
    shown = run_cli("clusters", "show", "2", "--limit", "3")
    assert detail["members"][0]["pr_id"] in shown.stdout and detail["label"] in shown.stdout


def test_clusters_show_unknown_id_and_clusters_before_cluster(run_cli, store_path, minilm):
    Store(store_path).close()  # `clusters` only reads: it never creates the store
    assert "run `prsynth cluster` first" in run_cli("clusters").output
    with Store(store_path) as store:
        prepared(store)
    run_cli("cluster", "--k", "4")
    result = run_cli("clusters", "show", "9")
    assert result.exit_code == 2 and "cluster 9 does not exist; clusters are 0..3" in result.output


def test_clusters_table_shows_quality_and_selection_when_stored(tmp_path, minilm):
    class ScoredStore(Store):
        def query_scores(self) -> dict[str, float]:
            return {"q001": 0.5, "q002": 0.7, "q013": 0.1}

        def selected_query_ids(self) -> set[str]:
            return {"q001"}

    from prsynth.outputs.inspect import cluster_overview

    with ScoredStore(tmp_path / "scored.db") as store:
        prepared(store)
        run_stage(store, Config().override("cluster", k=4), "cluster")
        rows = {row["cluster"]: row for row in cluster_overview(store)}
        assignments = store.clusters()
        cluster = assignments["q001"][0]
        scored = [s for q, s in store.query_scores().items() if assignments[q][0] == cluster]
        assert rows[cluster]["mean_quality"] == pytest.approx(sum(scored) / len(scored))
        assert rows[cluster]["selected"] == 1
        assert sum(row["selected"] for row in rows.values()) == 1
        unscored = set(rows) - {assignments[q][0] for q in store.query_scores()}
        assert all(rows[c]["mean_quality"] is None for c in unscored)


def test_stats_count_embedded_duplicates_and_clusters(run_cli, store_path, minilm):
    with Store(store_path) as store:
        prepared(store)
    run_cli("cluster", "--k", "4")
    stats = json.loads(run_cli("stats", "--json").stdout)
    assert (stats["embedded"], stats["duplicates"], stats["clusters"]) == (25, 1, 4)


def purity(assignments: dict[str, tuple[int, float]], topic_of: dict[str, str]) -> float:
    """Share of queries whose cluster's most common topic is their own."""
    per_cluster: dict[int, Counter[str]] = {}
    for query_id, (cluster, _) in assignments.items():
        per_cluster.setdefault(cluster, Counter())[topic_of[query_id]] += 1
    return sum(c.most_common(1)[0][1] for c in per_cluster.values()) / len(assignments)
