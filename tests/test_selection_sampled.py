"""Facility location on a sample of clients: the method `select` uses above
`[select] sample_above` candidates (prsynth/selection/sampled.py)."""

import heapq
from collections import Counter

import numpy as np
import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.selection.methods import (
    Constraints,
    SelectionError,
    facility_objective,
    select_diverse,
)
from prsynth.selection.run import check_select
from prsynth.selection.sampled import sampled_facility_location
from tests.support.vectordata import clustered


def dense_greedy(vectors, quality, k, quality_weight):
    """Greedy on the full n x n similarity matrix: the reference objective. (Lazy: a
    gain only shrinks as the set grows, so re-evaluating just the top of a heap of stale
    gains picks what re-evaluating every row would.)"""
    n = len(vectors)
    sims = np.clip(vectors @ vectors.T, 0.0, 1.0)
    cover, chosen = np.zeros(n, dtype=np.float32), []
    bonus = quality_weight * quality / k
    totals = sims.sum(axis=1, dtype=np.float64)
    heap = [(-(gain / n + bonus[j]), j) for j, gain in enumerate(totals)]
    heapq.heapify(heap)
    while len(chosen) < k:
        _, j = heapq.heappop(heap)
        gain = float(np.maximum(sims[j] - cover, 0.0).sum(dtype=np.float64)) / n + bonus[j]
        if not heap or -gain <= heap[0][0]:
            chosen.append(j)
            cover = np.maximum(cover, sims[j])
        else:
            heapq.heappush(heap, (-gain, j))
    return chosen


@pytest.fixture(scope="module")
def data():
    return clustered(5000, seed=1)


@pytest.mark.parametrize("quality_weight", [1.0, 0.0])
def test_a_sample_of_clients_keeps_the_objective_within_one_percent_of_dense_greedy(
    data, quality_weight
):
    vectors, quality, _ = data
    dense = dense_greedy(vectors, quality, 40, quality_weight)
    # 40 clients and 10 facilities per cluster on average: as the defaults at 1,000,000
    picks = sampled_facility_location(vectors, quality, 40, quality_weight=quality_weight,
                                      sample=2000, facilities=500)
    chosen = [p.index for p in picks]
    assert len(set(chosen)) == 40
    ratio = (facility_objective(vectors, quality, chosen, quality_weight)
             / facility_objective(vectors, quality, dense, quality_weight))
    assert ratio >= 0.99


def test_above_sample_above_select_runs_on_memory_mapped_float16_and_respects_every_cap(
    data, tmp_path
):
    vectors, quality, labels = (part[:2000] for part in data)
    half = np.lib.format.open_memmap(tmp_path / "vectors.npy", mode="w+", dtype=np.float16,
                                     shape=vectors.shape)
    half[:] = vectors
    repos = np.arange(len(quality)) % 7
    types = (np.arange(len(quality)) // 3) % 3
    constraints = Constraints(
        repos=repos, clusters=labels, per_repo_cap=5, per_cluster_cap=1, pinned=[11, 1500],
        task_types=types, task_type_caps={0: 10, 1: 10, 2: 10},
    )
    picks = select_diverse("facility", half, quality, 30, constraints=constraints,
                           sample_above=1000)  # 2,000 candidates: the sampled method
    chosen = [p.index for p in picks]
    assert all("sampled" in p.why for p in picks)
    assert chosen[:2] == [11, 1500] and len(set(chosen)) == 30
    assert max(Counter(repos[chosen]).values()) <= 5
    assert max(Counter(labels[chosen]).values()) == 1
    assert sorted(Counter(types[chosen]).values()) == [10, 10, 10]
    below = select_diverse("facility", vectors, quality, 30, constraints=constraints)
    assert all("sampled" not in p.why for p in below)


def test_the_sampled_method_is_deterministic_for_a_seed(data):
    vectors, quality, labels = data

    def run(seed):
        return [p.index for p in sampled_facility_location(
            vectors, quality, 20, constraints=Constraints(clusters=labels, per_cluster_cap=2),
            seed=seed, sample=800)]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_caps_the_sampled_candidates_cannot_meet_are_a_one_line_error():
    vectors, quality, _ = clustered(400, dim=16, seed=1)
    repos = np.where(np.arange(400) < 398, 0, 1)  # two items outside repository 0
    with pytest.raises(SelectionError, match="--per-repo-cap 2 allows at most 4 items"):
        select_diverse("facility", vectors, quality, 5, sample_above=100,
                       constraints=Constraints(repos=repos, per_repo_cap=2))


def test_a_negative_sample_above_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match="'select.sample_above' must be 0 \\(never sample\\)"):
        check_select(Config().override("select", sample_above=-1).select)
