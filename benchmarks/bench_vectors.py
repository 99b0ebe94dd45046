"""Embed, near-duplicate and clustering speed, each against a baseline run in the same process.

    python benchmarks/bench_vectors.py

(a) embeds 5,000 request-like texts through the store (texts/s), then re-runs the fully
    cached embed; (b) finds near-duplicate pairs among 200,000 random unit vectors
    (dim 384) with 2,000 planted near-duplicates, prsynth's IVF range search against an
    exact blocked brute force (timed on 20,000 query rows and extrapolated linearly to
    all 200,000: every row costs the same); (c) clusters the 200,000 vectors into 300
    clusters with spherical k-means.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prsynth.config import Config  # noqa: E402
from prsynth.records import PullRequest, Query  # noqa: E402
from prsynth.stages.cluster import spherical_kmeans  # noqa: E402
from prsynth.stages.dedupe import near_duplicate_pairs  # noqa: E402
from prsynth.stages.registry import run_stage  # noqa: E402
from prsynth.store import Store  # noqa: E402

TEXTS = 5_000
VECTORS = 200_000
DIM = 384
PLANTED = 2_000
THRESHOLD = 0.92
BRUTE_ROWS = 20_000
CLUSTERS = 300

OPENERS = ["", "Hey, ", "Please ", "Can you ", "I need you to ", "Quick one: ", "Could you "]
ACTIONS = [
    "fix the crash in", "add a --{flag} option to", "speed up", "add retries with backoff to",
    "write tests for", "refactor", "add type hints to", "log a warning in",
    "support Python 3.{minor} in", "handle unicode input in", "add pagination to",
    "make {thing} configurable in", "remove the deprecated {thing} from", "document",
]
PARTS = [
    "the config loader", "the CLI entry point", "the HTTP client", "the SQLite store",
    "the date parser", "the export command", "the login form", "the dashboard charts",
    "the webhook sender", "the cache layer", "the git crawler", "the rate limiter",
    "the YAML serializer", "the plugin registry", "the search endpoint", "the upload handler",
]
REASONS = [
    "", " because it fails when {thing} is empty", " since users on Windows hit a {error}",
    " so that CI stops timing out", " — it currently raises {error} on large inputs",
    " and keep the old behaviour behind a flag", " without breaking the public API",
]
THINGS = ["the timeout", "the token", "the path", "the retry count", "the page size", "the locale"]
ERRORS = ["KeyError", "UnicodeDecodeError", "TimeoutError", "PermissionError", "RecursionError"]
FLAGS = ["json", "dry-run", "verbose", "limit", "since", "output"]


def request_texts(count: int, seed: int = 0) -> list[str]:
    """Varied request-like sentences from templates, all distinct."""
    rng = random.Random(seed)
    texts: set[str] = set()
    while len(texts) < count:
        text = (
            rng.choice(OPENERS) + rng.choice(ACTIONS) + " " + rng.choice(PARTS)
            + rng.choice(REASONS) + f" (ticket {rng.randrange(10_000)})."
        ).format(
            flag=rng.choice(FLAGS), minor=rng.choice([10, 11, 12, 13]),
            thing=rng.choice(THINGS), error=rng.choice(ERRORS),
        )
        texts.add(text[0].upper() + text[1:])
    return sorted(texts)


def bench_embed() -> None:
    texts = request_texts(TEXTS)
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "bench.db") as store:
        for number, text in enumerate(texts, 1):
            store.put_pr(PullRequest(repo="bench/app", number=number, title=text[:40]))
            store.put_query(Query(
                id=f"q{number:05d}", pr_id=f"bench/app#{number}", query=text,
                prompt="bench@1", model="bench",
            ))
        started = time.perf_counter()
        first = run_stage(store, Config(), "embed")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        again = run_stage(store, Config(), "embed")
        cached = time.perf_counter() - started
    assert first.embedded == TEXTS and again.embedded == 0
    print(f"(a) embed {TEXTS} texts: {cold:.1f} s = {TEXTS / cold:.0f} texts/s (model load "
          f"included); cached re-run {cached:.2f} s (target < 1 s), "
          f"{cold / cached:.0f}x faster than embedding")


def planted_vectors(seed: int = 0) -> tuple[np.ndarray, set[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((VECTORS, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sources = rng.choice(VECTORS, PLANTED, replace=False)
    targets = rng.choice(np.setdiff1d(np.arange(VECTORS), sources), PLANTED, replace=False)
    noise = rng.standard_normal((PLANTED, DIM), dtype=np.float32)
    noise -= (noise * vectors[sources]).sum(axis=1, keepdims=True) * vectors[sources]
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    # Cosine between 0.93 and 0.99: near-duplicates just above the 0.92 threshold.
    cosine = rng.uniform(0.93, 0.99, PLANTED).astype(np.float32)[:, None]
    vectors[targets] = cosine * vectors[sources] + np.sqrt(1 - cosine**2) * noise
    vectors[targets] /= np.linalg.norm(vectors[targets], axis=1, keepdims=True)
    planted = {(int(min(a, b)), int(max(a, b))) for a, b in zip(sources, targets, strict=True)}
    return vectors, planted


def exact_blocked_pairs(vectors: np.ndarray, rows: int, block: int = 2_048) -> int:
    """The baseline: exact cosine of `rows` query rows against every vector, in blocks."""
    found = 0
    for start in range(0, rows, block):
        similarities = vectors[start:start + block] @ vectors.T
        found += int(np.count_nonzero(similarities >= THRESHOLD))
    return found


def bench_near_duplicates(vectors: np.ndarray, planted: set[tuple[int, int]]) -> None:
    started = time.perf_counter()
    exact_blocked_pairs(vectors, BRUTE_ROWS)
    brute = (time.perf_counter() - started) * VECTORS / BRUTE_ROWS
    started = time.perf_counter()
    pairs = near_duplicate_pairs(vectors, THRESHOLD)
    approximate = time.perf_counter() - started
    found = {(int(i), int(j)) for i, j, _ in pairs}
    recall = len(found & planted) / len(planted)
    print(f"(b) near-duplicates in {VECTORS}x{DIM}: exact blocked brute force "
          f"{brute:.0f} s (timed on {BRUTE_ROWS} rows, x{VECTORS // BRUTE_ROWS}); prsynth IVF "
          f"{approximate:.1f} s; {brute / approximate:.1f}x faster (target >= 10x); recall of "
          f"{len(planted)} planted pairs {recall:.4f} (target >= 0.98); {len(found)} pairs found")


def bench_cluster(vectors: np.ndarray) -> None:
    started = time.perf_counter()
    assignments, _, _ = spherical_kmeans(vectors, CLUSTERS, seed=0)
    took = time.perf_counter() - started
    print(f"(c) spherical k-means {VECTORS}x{DIM} into {CLUSTERS} clusters: {took:.1f} s "
          f"(target < 60 s); {len(set(assignments.tolist()))} non-empty clusters")


def main() -> None:
    print(f"cores: {os.cpu_count()}")
    bench_embed()
    vectors, planted = planted_vectors()
    bench_near_duplicates(vectors, planted)
    bench_cluster(vectors)


if __name__ == "__main__":
    main()
