"""The selection methods as pure functions over arrays."""

from collections import Counter

import numpy as np
import pytest

from prsynth.selection.methods import (
    Constraints,
    SelectionError,
    coverage,
    facility_location,
    k_center,
    knn_graph,
    mmr,
    random_choice,
    random_coverage,
    select_diverse,
    sparse_objective,
)


def clustered(n: int, clusters: int = 12, dim: int = 32, seed: int = 0):
    """Unit vectors around `clusters` random centres, uneven sizes, random qualities."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    labels = rng.choice(clusters, size=n, p=rng.dirichlet(np.ones(clusters)))
    vectors = centres[labels] + 0.6 * rng.standard_normal((n, dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), rng.random(n), labels


def dense_greedy(vectors, quality, k, quality_weight=1.0):
    """The textbook algorithm on the full similarity matrix (fine for a few hundred rows)."""
    n = len(vectors)
    sims = np.clip(vectors.astype(np.float64) @ vectors.T.astype(np.float64), 0, 1)
    cover, chosen = np.zeros(n), []
    for _ in range(k):
        gains = np.maximum(sims - cover, 0).sum(axis=1) / n + quality_weight * quality / k
        gains[chosen] = -np.inf
        chosen.append(int(np.argmax(gains)))
        cover = np.maximum(cover, sims[chosen[-1]])
    return chosen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lazy_greedy_picks_exactly_what_plain_greedy_picks(seed):
    vectors, quality, labels = clustered(300, seed=seed)
    graph = knn_graph(vectors, 24)
    constraints = Constraints(clusters=labels, per_cluster_cap=4, pinned=[5, 17])
    lazy = facility_location(None, quality, 25, graph=graph, constraints=constraints, seed=seed)
    plain = facility_location(
        None, quality, 25, graph=graph, constraints=constraints, seed=seed, lazy=False
    )
    assert [p.index for p in lazy] == [p.index for p in plain]
    assert sparse_objective(graph, quality, [p.index for p in lazy]) == sparse_objective(
        graph, quality, [p.index for p in plain]
    )


def test_with_every_neighbour_the_graph_gives_the_dense_greedy_objective():
    vectors, quality, _ = clustered(120, seed=4)
    sparse = facility_location(vectors, quality, 10, neighbours=120)
    dense = dense_greedy(vectors, quality, 10)
    assert sorted(p.index for p in sparse) == sorted(dense)


def test_facility_location_covers_clustered_data_far_better_than_random():
    vectors, quality, labels = clustered(2000, clusters=20, seed=3)
    picks = facility_location(vectors, quality, 20)
    chosen = [p.index for p in picks]
    assert coverage(vectors, chosen) >= 1.2 * random_coverage(vectors, 20)
    assert len(set(labels[chosen])) >= 15  # spread over the clusters, not piled in one


def test_quality_term_prefers_better_items_among_similar_ones():
    vectors, quality, _ = clustered(500, seed=5)
    plain = [p.index for p in facility_location(vectors, quality, 20, quality_weight=0.0)]
    weighted = [p.index for p in facility_location(vectors, quality, 20, quality_weight=2.0)]
    assert quality[weighted].mean() > quality[plain].mean()


def test_each_pick_says_which_gains_won_it():
    vectors, quality, _ = clustered(200)
    picks = facility_location(vectors, quality, 8, constraints=Constraints(pinned=[3]))
    assert picks[0].index == 3 and picks[0].why["pinned"] is True
    for pick in picks:
        assert set(pick.why) >= {"coverage_gain", "quality_gain"}
        assert pick.why["quality_gain"] == pytest.approx(quality[pick.index] / 8, abs=1e-6)
    gains = [p.why["coverage_gain"] + p.why["quality_gain"] for p in picks[1:]]
    assert gains == sorted(gains, reverse=True)  # submodular: each win is smaller


@pytest.mark.parametrize("method", ["facility", "mmr", "kcenter", "random"])
def test_every_method_returns_k_items_within_caps_with_pins(method):
    vectors, quality, labels = clustered(400, seed=6)
    repos = np.arange(400) % 7
    constraints = Constraints(
        repos=repos, clusters=labels, per_repo_cap=4, per_cluster_cap=3, pinned=[11, 12]
    )
    picks = select_diverse(method, vectors, quality, 20, constraints=constraints, seed=1)
    chosen = [p.index for p in picks]
    assert len(chosen) == len(set(chosen)) == 20
    assert chosen[:2] == [11, 12]
    assert max(Counter(repos[chosen]).values()) <= 4
    assert max(Counter(labels[chosen]).values()) <= 3


@pytest.mark.parametrize("method", ["facility", "mmr", "kcenter", "random"])
def test_same_seed_same_choice(method):
    vectors, quality, _ = clustered(300, seed=7)
    first = select_diverse(method, vectors, quality, 15, seed=3)
    again = select_diverse(method, vectors, quality, 15, seed=3)
    assert [p.index for p in first] == [p.index for p in again]


def test_another_seed_gives_another_random_choice():
    one = random_choice(300, 15, seed=1)
    other = random_choice(300, 15, seed=2)
    assert [p.index for p in one] != [p.index for p in other]


def test_mmr_and_k_center_spread_out():
    vectors, quality, labels = clustered(600, clusters=10, seed=8)
    for picks in (mmr(vectors, quality, 10, diversity=0.8), k_center(vectors, quality, 10)):
        assert len({labels[p.index] for p in picks}) >= 7


@pytest.mark.parametrize(
    ("k", "constraints", "message"),
    [
        (0, Constraints(), "--k 0 must be at least 1"),
        (51, Constraints(), "more items than there are candidates \\(50\\)"),
        (10, Constraints(repos=np.arange(50) % 2, per_repo_cap=3),
         "--per-repo-cap 3 allows at most 6 items"),
        (2, Constraints(pinned=[1, 2, 3]), "3 pinned items do not fit in --k 2"),
    ],
)
def test_impossible_requests_are_one_line_errors(k, constraints, message):
    vectors, quality, _ = clustered(50)
    with pytest.raises(SelectionError, match=message):
        facility_location(vectors, quality, k, constraints=constraints)


def test_two_caps_together_that_cannot_fill_k_say_so():
    vectors, quality, _ = clustered(40)
    repos = np.arange(40) // 20  # items 0-19 in repo 0, 20-39 in repo 1
    clusters = np.where(np.arange(40) < 20, 0, np.arange(40) - 19)  # repo 0 all in cluster 0
    constraints = Constraints(repos=repos, clusters=clusters, per_repo_cap=10,
                              per_cluster_cap=1)
    for method in ("facility", "mmr", "kcenter", "random"):
        with pytest.raises(SelectionError, match="only 11 of --k 12 items fit within the caps"):
            select_diverse(method, vectors, quality, 12, constraints=constraints)


def test_large_sets_use_an_approximate_graph_that_finds_the_close_neighbours(monkeypatch):
    import prsynth.selection.methods

    vectors, _, _ = clustered(3000, clusters=30, dim=48, seed=9)
    exact_indices, exact_sims = knn_graph(vectors, 10)
    monkeypatch.setattr(prsynth.selection.graph, "EXACT_LIMIT", 500)
    indices, sims = knn_graph(vectors, 10)
    assert (indices == np.arange(3000)[:, None]).any(axis=1).all()  # every row covers itself
    pairs = zip(indices, exact_indices, strict=True)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in pairs])
    assert recall > 0.9
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # nearest first
