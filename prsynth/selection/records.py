"""The Selected records (docs/architecture.md, "Records"): each chosen query with what
makes it checkout-able (PR, base commit, the diff split into code patch and test patch)
and why it was chosen."""

from __future__ import annotations

from typing import Any

from prsynth.errors import ConfigError, MissingStageError
from prsynth.records import Selected
from prsynth.store import Store
from prsynth.text.diffs import file_diffs, split_patch, test_names
from prsynth.text.personal import scrub_pr
from prsynth.text.redact import redact_pr


def selected_records(store: Store, selection: dict[str, Any]) -> list[dict[str, Any]]:
    """The Selected records of one stored selection run (from `store.selections()`)."""
    return build_records(store, store.selection_items(selection["id"]))


def build_records(store: Store, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Selected records for selection items (rank, query_id, quality, cluster, why)."""
    labels = store.cluster_labels()
    ratings = store.judge_ratings()
    repo_info = {}
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
        clean = scrub_pr(redact_pr(pr)) if pr else None
        if pr and pr.repo not in repo_info:
            repo_info[pr.repo] = store.repo_info(pr.repo) or {}
        info = repo_info.get(pr.repo, {}) if pr else {}
        rating, reason = ratings.get(query.id, (None, ""))
        stored = store.query_score(query.id)
        records.append(Selected(
            rank=item["rank"], query_id=query.id, query=query.query, pr_id=query.pr_id,
            repo=pr.repo if pr else "", pr_url=pr.url if pr else "",
            base_sha=pr.base_sha if pr else "", patch=patch, test_patch=test_patch,
            cluster=cluster,
            cluster_label=labels.get(cluster, "") if cluster is not None else "",
            quality=item["quality"], why=item["why"],
            task_type=str(query.fields.get("task_type", "")),
            difficulty=str(query.fields.get("difficulty", "")),
            title=clean.title if clean else "", body=clean.body if clean else "",
            linked_issues=clean.linked_issues if clean else [],
            language=(pr.repo_language if pr else "") or info.get("language", ""),
            license=(pr.license if pr else "") or info.get("license", ""),
            merged_at=pr.merged_at if pr else "",
            modified_files=[s.path for s in file_diffs(patch)],
            test_files=[s.path for s in file_diffs(test_patch)],
            test_names=test_names(test_patch), prompt=query.prompt, model=query.model,
            judge_score=rating, judge_reason=reason or "",
            score_breakdown=dict(stored[1]) if stored else {},
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
