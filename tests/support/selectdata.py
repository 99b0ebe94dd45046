"""A store with the bundled sample PRs and one request-like query per PR, for select tests."""

from __future__ import annotations

from prsynth.crawl.run import crawl_import
from prsynth.records import Query
from prsynth.resources import sample_prs_path
from prsynth.store import Store

TASK_WORDS = {
    "docs": ("doc", "readme", "guide", "typo"),
    "build": ("ci", "lockfile", "bump", "workflow"),
    "performance": ("speed", "fast", "slow", "performance", "cache"),
    "refactor": ("refactor", "rename", "split", "extract"),
    "feature": ("add", "support", "option", "allow", "new"),
}


def task_type(title: str) -> str:
    words = title.lower()
    for kind, hints in TASK_WORDS.items():
        if any(hint in words for hint in hints):
            return kind
    return "bugfix"


def fill_sample(store: Store, limit: int | None = None) -> list[str]:
    """Import the bundled sample and write one query per stored PR; return the query ids."""
    crawl_import(store, sample_prs_path())
    ids = []
    for number, pr in enumerate(store.iter_prs()):
        if limit is not None and number >= limit:
            break
        body = " ".join(pr.body.split()[:40])
        text = f"In {pr.repo.split('/')[1]}, {pr.title[0].lower()}{pr.title[1:]}. {body}".strip()
        query_id = f"{pr.id}/vibe_request/offline-baseline"
        store.put_query(Query(
            id=query_id, pr_id=pr.id, query=text, prompt="vibe_request@1",
            model="offline-baseline",
            fields={"task_type": task_type(pr.title),
                    "difficulty": ("easy", "medium", "hard")[number % 3],
                    "skills": [], "leakage": 0.4 if number % 11 == 0 else 0.0, "leaked": []},
        ))
        ids.append(query_id)
    return ids
