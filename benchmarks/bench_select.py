"""Selection speed and quality: k=78 from 10,000 and 100,000 candidates.

    python benchmarks/bench_select.py

Candidates are random clustered unit vectors (dim 384: ~sqrt(n) Gaussian centres with
Dirichlet-distributed sizes, each point = centre + noise of the same scale, so members
of one cluster have cosine ~0.5 and unrelated points ~0) with uniform random qualities.
prsynth's facility location (lazy greedy over a sparse faiss k-NN graph) is timed on
both sets; on the 10,000 set a plain dense greedy baseline (the full n x n similarity
matrix, every gain recomputed every step) runs in the same process. Both selections are
scored with the exact objective — mean best cosine to the chosen set over all
candidates, plus the quality term — and with coverage alone against random choices of
the same size. The 10,000 comparison runs twice: with the default quality weight (1)
and with coverage alone (weight 0), where the sparse graph has the most to lose.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prsynth.selection.methods import (  # noqa: E402
    DEFAULT_NEIGHBOURS,
    coverage,
    facility_location,
    facility_objective,
    random_coverage,
)
from tests.support.vectordata import clustered as clustered_vectors  # noqa: E402

K = 78
DIM = 384
QUALITY_WEIGHT = 1.0


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    vectors, quality, _ = clustered_vectors(n, DIM, seed)
    return vectors, quality


def clustered_half(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The data of `clustered`, in one float16 matrix (1,000,000 x 384: 768 MB, where
    float32 and its temporaries would need 4 GB+)."""
    vectors, quality, _ = clustered_vectors(n, DIM, seed, dtype=np.float16)
    return vectors, quality


def dense_greedy(
    vectors: np.ndarray, quality: np.ndarray, k: int, quality_weight: float
) -> list[int]:
    """Plain greedy facility location on the full similarity matrix (the baseline)."""
    n = len(vectors)
    sims = np.clip(vectors @ vectors.T, 0.0, None)
    cover = np.zeros(n, dtype=np.float32)
    bonus = quality_weight * quality / k
    chosen: list[int] = []
    for _ in range(k):
        gains = np.maximum(sims - cover, 0.0).sum(axis=1, dtype=np.float64) / n + bonus
        gains[chosen] = -np.inf
        chosen.append(int(np.argmax(gains)))
        cover = np.maximum(cover, sims[chosen[-1]])
    return chosen


def run(n: int, baseline: bool, quality_weight: float = QUALITY_WEIGHT) -> None:
    vectors, quality = clustered(n)
    start = time.perf_counter()
    picks = facility_location(vectors, quality, K, quality_weight=quality_weight)
    seconds = time.perf_counter() - start
    chosen = [p.index for p in picks]
    objective = facility_objective(vectors, quality, chosen, quality_weight)
    covered, random = coverage(vectors, chosen), random_coverage(vectors, K, draws=10)
    label = f"n={n:,}, quality weight {quality_weight:g}"
    print(f"{label}: prsynth facility location (k-NN graph of {DEFAULT_NEIGHBOURS}) "
          f"{seconds:.1f} s, objective {objective:.4f}, coverage {covered:.4f} vs random "
          f"{random:.4f} ({covered / random - 1:+.1%}), mean quality "
          f"{quality[chosen].mean():.3f}")
    if not baseline:
        return
    start = time.perf_counter()
    dense = dense_greedy(vectors, quality, K, quality_weight)
    dense_seconds = time.perf_counter() - start
    dense_objective = facility_objective(vectors, quality, dense, quality_weight)
    print(f"{label}: dense greedy baseline {dense_seconds:.1f} s, objective "
          f"{dense_objective:.4f}, coverage {coverage(vectors, dense):.4f}")
    print(f"{label}: time ratio dense/prsynth {dense_seconds / seconds:.1f}x, objective ratio "
          f"prsynth/dense {objective / dense_objective:.4f}")


if __name__ == "__main__":
    run(10_000, baseline=True)
    run(10_000, baseline=True, quality_weight=0.0)
    run(100_000, baseline=False)
