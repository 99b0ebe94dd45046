"""The SQLite store: the only place in prsynth that speaks SQL.

`Store` is assembled from one mixin per group of tables, each in a module named after
them (docs/architecture.md, "Packages"), over `StoreCore` (connection, migrations,
transactions, stage fingerprints and `meta`).
"""

from prsynth.store.clusters import ClusterTables
from prsynth.store.core import StoreCore, fingerprint, text_hash, utcnow
from prsynth.store.embeddings import EmbeddingTables
from prsynth.store.github import GitHubTables
from prsynth.store.llm import LLMTables
from prsynth.store.prs import PullRequestTables
from prsynth.store.queries import QueryTables
from prsynth.store.scores import ScoreTables
from prsynth.store.selections import SelectionTables


class Store(
    PullRequestTables, QueryTables, EmbeddingTables, ClusterTables, ScoreTables,
    SelectionTables, LLMTables, GitHubTables, StoreCore,
):
    """Open (creating and migrating if needed) the store at `path`."""


__all__ = ["Store", "StoreCore", "fingerprint", "text_hash", "utcnow"]
