"""The funnel from crawl to selection, read from the store."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prsynth.config import Config
from prsynth.store import Store, text_hash


def collect_stats(store: Store, config: Config) -> dict[str, Any]:
    """Counts per repository and per drop reason, for `prsynth stats` and the report."""
    per_repo: dict[str, dict[str, Any]] = defaultdict(lambda: {"prs": 0, "dropped": {}})
    for repo, count in store.prs_per_repo().items():
        per_repo[repo]["prs"] = count
    dropped: dict[str, dict[str, int]] = defaultdict(dict)
    for stage, repo, reason, count in store.drop_counts():
        dropped[stage][reason] = dropped[stage].get(reason, 0) + count
        if repo:
            per_repo[repo]["dropped"][reason] = per_repo[repo]["dropped"].get(reason, 0) + count
    return {
        "store": str(store.path),
        "prs": store.count_prs(),
        "queries": store.count_queries(),
        "llm": store.llm_call_totals(),
        **vector_stats(store, config.embed.vector_model),
        **selection_stats(store),
        "verification": store.verification_counts(),
        "repos": dict(sorted(per_repo.items())),
        "dropped": {stage: dict(sorted(r.items())) for stage, r in sorted(dropped.items())},
    }


def vector_stats(store: Store, model: str) -> dict[str, Any]:
    """How many queries `model` has embedded, duplicates, clusters."""
    cached = store.cached_text_hashes(model)
    return {
        "embedded": sum(1 for s in store.query_sources() if text_hash(s.text) in cached),
        "embedding_model": model,
        "duplicates": len(store.duplicate_query_ids()),
        "clusters": len(store.cluster_labels()),
    }


def selection_stats(store: Store) -> dict[str, Any]:
    """How many queries are scored, pinned, rejected, and in the latest selection."""
    marks = [m.mark for m in store.marks().values()]
    selected = store.selected_query_ids()
    return {
        "scored": len(store.query_scores()),
        "pinned": marks.count("pin"),
        "rejected": marks.count("reject"),
        "selected": len(selected) if selected is not None else 0,
    }
