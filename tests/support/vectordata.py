"""Small, realistic query sets for the embed, dedupe and cluster tests, and clustered
random vectors for the selection tests and benchmarks."""

from __future__ import annotations

import numpy as np

from prsynth.records import PullRequest, Query
from prsynth.store import Store

# Four topics a reader would tell apart, six requests each, all distinct requests.
TOPICS = {
    "cli": [
        "Add a --json flag to the stats command so scripts can read the counts",
        "The export command should accept --output to write to a file instead of stdout",
        "Make the crawl command exit with code 3 when some repositories fail",
        "Add shell completion for the prsynth command line tool",
        "Show a progress bar on stderr while the import command loads a large dump",
        "The --since option of crawl git should accept dates like 2024-01-31",
    ],
    "database": [
        "Add a database migration that creates an index on the orders table by customer id",
        "The SQLite connection should use WAL mode so readers never block the writer",
        "Wrap each batch insert in one transaction so a crash never leaves half a batch",
        "Add a foreign key from invoices to customers and backfill the missing rows",
        "Queries on the events table are slow; add a composite index on user and timestamp",
        "Vacuum the sqlite database after deleting old sessions to reclaim disk space",
    ],
    "frontend": [
        "Add a dark mode toggle to the settings page and remember the choice",
        "The login form button is misaligned on mobile Safari, fix the CSS",
        "Render the dashboard charts lazily so the page loads faster",
        "Add keyboard navigation to the dropdown menu in the navbar",
        "Show a toast notification when saving the profile form fails",
        "The modal dialog should close when the user presses Escape",
    ],
    "testing": [
        "Add pytest fixtures that start a fake HTTP server for the API client tests",
        "The flaky test_upload_retries test fails on CI about once a week; make it deterministic",
        "Measure test coverage in CI and fail the build below 85 percent",
        "Split the slow integration tests into their own pytest marker",
        "Add property-based tests with hypothesis for the date parser",
        "Run the unit tests on Python 3.11 and 3.12 in the GitHub Actions matrix",
    ],
}

# (original, paraphrase): the same request worded a little differently.
PARAPHRASES = [
    (
        "Add a dark mode toggle to the settings page and remember the choice",
        "Add a dark mode toggle to the settings page and remember the user's choice",
    ),
    (
        "Make the crawl command exit with code 3 when some repositories fail",
        "Make the crawl command exit with code 3 when some of the repositories fail",
    ),
]


def add_query(
    store: Store, query_id: str, text: str, *, repo: str = "acme/app", number: int | None = None,
    merged_at: str = "2024-01-01T00:00:00Z", diff: str = "", created_at: str = "",
) -> None:
    """Store one PR and one query for it (queries need their PR)."""
    number = number if number is not None else int(query_id.strip("q").split("-")[0] or 0) + 1
    store.put_pr(PullRequest(
        repo=repo, number=number, title=f"PR {number}: {text[:30]}", merged_at=merged_at,
        diff=diff, source="import",
    ))
    store.put_query(Query(
        id=query_id, pr_id=f"{repo}#{number}", query=text, prompt="vibe@1",
        model="offline", created_at=created_at or merged_at,
    ))


def fill_topics(store: Store) -> dict[str, str]:
    """Store the four topics' requests (repo per topic); return query id → topic."""
    topic_of = {}
    number = 0
    for topic, texts in TOPICS.items():
        for text in texts:
            number += 1
            query_id = f"q{number:03d}"
            add_query(
                store, query_id, text, repo=f"acme/{topic}", number=number,
                merged_at=f"2024-02-{number % 28 + 1:02d}T00:00:00Z",
            )
            topic_of[query_id] = topic
    return topic_of


def clustered(n: int, dim: int = 384, seed: int = 0, dtype: type = np.float32,
              block: int = 16_384) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit vectors, qualities, cluster labels): ~sqrt(n) Gaussian centres with
    Dirichlet-distributed sizes, each point = centre + noise of the centres' own scale
    (cosine ~0.5 within a cluster, ~0 across), uniform random qualities. Rows are made
    `block` at a time straight into a `dtype` matrix (1,000,000 x 384 float16: 768 MB,
    with no full-size temporaries); the noise is drawn in the same order whatever the
    block, so a seed gives the same data."""
    rng = np.random.default_rng(seed)
    clusters = int(np.sqrt(n))
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    labels = rng.choice(clusters, size=n, p=rng.dirichlet(np.ones(clusters)))
    vectors = np.empty((n, dim), dtype=dtype)
    for start in range(0, n, block):
        rows = centres[labels[start:start + block]]
        rows += rng.standard_normal(rows.shape).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        vectors[start:start + block] = rows
    return vectors, rng.random(n), labels
