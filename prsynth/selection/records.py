"""The Selected records (docs/architecture.md, "Records"): each chosen query with what
makes it checkout-able (PR, base commit, the diff split into code patch and test patch)
and why it was chosen."""

from __future__ import annotations

from typing import Any

from prsynth.errors import ConfigError, MissingStageError
from prsynth.records import Selected
from prsynth.store import Store
from prsynth.text.diffs import split_patch


def selected_records(store: Store, selection: dict[str, Any]) -> list[dict[str, Any]]:
    """The Selected records of one stored selection run (from `store.selections()`)."""
    return build_records(store, store.selection_items(selection["id"]))


def build_records(store: Store, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Selected records for selection items (rank, query_id, quality, cluster, why)."""
    labels = store.cluster_labels()
    records = []
    for item in items:
        query = store.get_query(item["query_id"])
        if query is None:
            raise MissingStageError(
                f"selected query {item['query_id']} is no longer in the store; run "
                "`prsynth select` again"
            )
        pr = store.get_pr(query.pr_id)
        patch, test_patch = split_patch(pr.diff if pr else "")
        cluster = item.get("cluster")
        records.append(Selected(
            rank=item["rank"], query_id=query.id, query=query.query, pr_id=query.pr_id,
            repo=pr.repo if pr else "", pr_url=pr.url if pr else "",
            base_sha=pr.base_sha if pr else "", patch=patch, test_patch=test_patch,
            cluster=cluster,
            cluster_label=labels.get(cluster, "") if cluster is not None else "",
            quality=item["quality"], why=item["why"],
            task_type=str(query.fields.get("task_type", "")),
            difficulty=str(query.fields.get("difficulty", "")),
        ).to_dict())
    return records


def stored_selection(store: Store, name: str | None = None) -> tuple[dict[str, Any], list]:
    """A stored run (the latest when `name` is None) and its Selected records."""
    selection = store.find_selection(name) if name else store.latest_selection()
    if selection is None:
        if name:
            known = ", ".join(s["name"] for s in store.selections()) or "none yet"
            raise ConfigError(f"selection {name!r} does not exist; stored runs: {known}")
        raise MissingStageError("nothing selected yet; run `prsynth select --k 78` first")
    return selection, selected_records(store, selection)
