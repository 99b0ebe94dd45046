"""Re-run the crawl filters over PRs a store already holds (docs/architecture.md,
"Task filters"): a store crawled before the task filters existed, or under other
`[filters]` switches, gets the same verdicts on its next crawl as new PRs do."""

from __future__ import annotations

from collections import Counter

from prsynth.crawl.filters import PullRequestFilter, first_drop_reason
from prsynth.store import Store


def recheck_stored(store: Store, chain: list[PullRequestFilter], repo: str) -> Counter[str]:
    """Run `chain` over the PRs of `repo` already stored: a PR that fails gets its drop
    recorded (it stays stored, but synth and select leave it out), a PR that passes again
    loses an old one. Return the stored PRs newly dropped, by reason."""
    dropped = store.drop_reasons("crawl", repo)
    found: Counter[str] = Counter()
    with store.transaction():
        for pr in store.iter_prs(repo):
            reason = first_drop_reason(pr, chain)
            if reason:
                if dropped.get(pr.id) != reason:
                    found[reason] += 1
                    store.record_drop("crawl", pr.id, reason, repo=pr.repo,
                                      detail="stored before; left out of synth and select")
            elif pr.id in dropped:
                store.clear_drops("crawl", [pr.id])
    return found
