"""Read-only views of stored stage output for researchers: clusters and duplicate groups.

`prsynth clusters`, `clusters show` and `dupes` print these; the report uses them too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prsynth.errors import ConfigError, MissingStageError
from prsynth.store import Store


def cluster_overview(store: Store) -> list[dict[str, Any]]:
    """One row per cluster: id, size, label, mean quality, number selected, repositories."""
    assignments = store.clusters()
    if not assignments:
        raise MissingStageError("no clusters yet; run `prsynth cluster` first")
    labels = store.cluster_labels()
    repos = {s.query_id: s.repo for s in store.query_sources()}
    scores = store.query_scores()
    selected = store.selected_query_ids()
    members: dict[int, list[str]] = {}
    for query_id, (cluster, _) in assignments.items():
        members.setdefault(cluster, []).append(query_id)
    rows = []
    for cluster in sorted(members):
        ids = members[cluster]
        quality = [scores[q] for q in ids if q in scores]
        covered = Counter(repos.get(q, "") for q in ids)
        rows.append({
            "cluster": cluster, "size": len(ids), "label": labels.get(cluster, ""),
            "mean_quality": round(sum(quality) / len(quality), 4) if quality else None,
            "selected": sum(1 for q in ids if q in selected) if selected is not None else None,
            "repos": len(covered),
            "top_repos": [repo for repo, _ in covered.most_common(3)],
        })
    return rows


def cluster_detail(store: Store, cluster: int, limit: int = 20) -> dict[str, Any]:
    """One cluster's label and its members, nearest the centroid first."""
    labels = store.cluster_labels()
    if not labels:
        raise MissingStageError("no clusters yet; run `prsynth cluster` first")
    if cluster not in labels:
        raise ConfigError(
            f"cluster {cluster} does not exist; clusters are {min(labels)}..{max(labels)} "
            "(see `prsynth clusters`)"
        )
    members = store.cluster_members(cluster)
    sources = {s.query_id: s for s in store.query_sources()}
    scores = store.query_scores()
    selected = store.selected_query_ids() or set()
    shown = members[:limit] if limit > 0 else members
    return {
        "cluster": cluster, "label": labels[cluster], "size": len(members),
        "members": [
            {
                "query_id": query_id, "pr_id": sources[query_id].pr_id,
                "title": sources[query_id].title, "distance": distance,
                "quality": scores.get(query_id), "selected": query_id in selected,
                "query": sources[query_id].text,
            }
            for query_id, distance in shown
        ],
    }


def duplicate_listing(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The largest duplicate groups with their texts, for `prsynth dupes`."""
    if store.stage_fingerprint("dedupe") is None:
        raise MissingStageError("no duplicate groups yet; run `prsynth dedupe` first")
    sources = {s.query_id: s for s in store.query_sources()}
    groups = list(store.duplicate_groups().items())
    listing = []
    for representative, duplicates in groups[:limit] if limit > 0 else groups:
        kept = sources[representative]
        listing.append({
            "representative": {"id": kept.query_id, "pr_id": kept.pr_id, "query": kept.text},
            "duplicates": [
                {
                    "id": d.query_id, "pr_id": sources[d.query_id].pr_id,
                    "query": sources[d.query_id].text, "reason": d.reason,
                    "similarity": d.similarity,
                }
                for d in duplicates
            ],
        })
    return listing
