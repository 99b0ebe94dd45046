"""The SQLite store: the only place in prsynth that speaks SQL.

`Store` is assembled from one mixin per concept (pull requests, queries, ...), each
in its own module, over `StoreCore` (connection, migrations, transactions).
"""

from prsynth.store.core import StoreCore, fingerprint, text_hash, utcnow
from prsynth.store.github import GitHubStore
from prsynth.store.llm import LLMStore
from prsynth.store.prs import PullRequestStore
from prsynth.store.queries import QueryStore
from prsynth.store.selection import SelectionStore
from prsynth.store.vectors import VectorStore


class Store(
    PullRequestStore, QueryStore, VectorStore, SelectionStore, LLMStore, GitHubStore, StoreCore
):
    """Open (creating and migrating if needed) the store at `path`."""


__all__ = ["Store", "StoreCore", "fingerprint", "text_hash", "utcnow"]
