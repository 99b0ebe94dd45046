"""`prsynth select`: bring the upstream stages up to date, choose k queries, store the run,
and build the Selected records (docs/architecture.md) with a summary a researcher can check."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from prsynth.config import Config, SelectConfig
from prsynth.errors import ConfigError, MissingStageError
from prsynth.progress import Progress, quiet
from prsynth.selection.methods import (
    METHODS,
    Constraints,
    SelectionError,
    mean_cover,
    nearest_picks,
    random_coverage,
    select_diverse,
)
from prsynth.selection.policy import (
    AUTO,
    parse_quotas,
    quota_groups,
    repo_cap,
    why_sentence,
)
from prsynth.selection.records import build_records
from prsynth.stages.registry import bring_up_to_date
from prsynth.store import Store

log = logging.getLogger(__name__)


def check_select(options: SelectConfig) -> None:
    """Refuse settings no selection can run with, naming the flag."""
    if options.method not in METHODS:
        raise ConfigError(
            f"--method {options.method!r} is unknown; use one of {', '.join(METHODS)}"
        )
    if options.k < 1:
        raise SelectionError(f"--k {options.k} must be at least 1")
    if not 0.0 <= options.min_quality <= 1.0:
        raise ConfigError(f"--min-quality {options.min_quality} must be in [0, 1]")
    if not options.quality_weight >= 0:
        raise ConfigError(f"--quality-weight {options.quality_weight} must be 0 or more")
    repo_cap(options.per_repo_cap, [], options.k)  # "auto" or a number
    parse_quotas(options.quotas)
    for flag, cap in (("--per-repo-cap", options.per_repo_cap),
                      ("--per-cluster-cap", options.per_cluster_cap)):
        if cap != AUTO and int(cap) < 0:
            raise ConfigError(f"{flag} {cap} must be 0 (no cap) or more")
    if options.sample_above < 0:
        raise ConfigError(f"config key 'select.sample_above' must be 0 (never sample) or "
                          f"more, got {options.sample_above}")
    if options.neighbours < 1:
        raise ConfigError(f"config key 'select.neighbours' must be at least 1, got "
                          f"{options.neighbours}")


@dataclass
class Candidates:
    """The queries a selection may choose from, as aligned arrays."""

    ids: list[str]
    vectors: np.ndarray
    quality: np.ndarray
    repos: list[str]
    clusters: list[int]
    pinned: list[int]
    excluded: dict[str, int] = field(default_factory=dict)
    task_types: list[str] = field(default_factory=list)


@dataclass
class SelectionResult:
    selection_id: int
    name: str
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    stages_run: list[str]


def gather_candidates(
    store: Store, config: Config, min_quality: float, verified_only: bool = False,
) -> Candidates:
    """Task-worthy, non-duplicate, non-rejected queries at or above `min_quality` (and whose
    PR `prsynth verify` verified, with `verified_only`), plus every pinned one. A query whose
    PR the crawl filters dropped after it was stored (not a coding task) is never a
    candidate."""
    model = config.embed.vector_model
    ids, vectors = store.query_vectors(model)
    scores = store.query_scores()
    clusters = store.clusters()
    duplicates = store.duplicate_query_ids()
    marks = store.marks()
    sources = store.query_sources()
    repos = {s.query_id: s.repo for s in sources}
    verified = _verified_queries(store, sources) if verified_only else set()
    not_tasks = store.task_dropped_pr_ids()
    not_task_queries = {s.query_id for s in sources if s.pr_id in not_tasks}
    excluded: Counter[str] = Counter()
    keep = []
    for row, query_id in enumerate(ids):
        mark = marks[query_id].mark if query_id in marks else ""
        if mark == "reject":
            excluded["rejected"] += 1
        elif mark == "pin":
            keep.append(row)
        elif query_id in not_task_queries:
            excluded["not_a_task"] += 1
        elif query_id in duplicates:
            excluded["duplicate"] += 1
        elif scores.get(query_id, 0.0) < min_quality:
            excluded["below_min_quality"] += 1
        elif verified_only and query_id not in verified:
            excluded["not_verified"] += 1
        else:
            keep.append(row)
    kept_ids = [ids[row] for row in keep]
    types = store.query_task_types()
    return Candidates(
        task_types=[types.get(q, "") or "unknown" for q in kept_ids],
        ids=kept_ids, vectors=_keep_rows(vectors, keep),
        quality=np.array([scores.get(q, 0.0) for q in kept_ids], dtype=np.float64),
        repos=[repos.get(q, "") for q in kept_ids],
        clusters=[clusters[q][0] if q in clusters else -1 for q in kept_ids],
        pinned=[i for i, q in enumerate(kept_ids) if q in marks and marks[q].mark == "pin"],
        excluded=dict(sorted(excluded.items())),
    )


def _keep_rows(matrix: np.ndarray, keep: list[int], block: int = 4096) -> np.ndarray:
    """`matrix[keep]` (keep ascending) moved up in place a block at a time: no second
    matrix. Row keep[i] >= i, so a block never overwrites a row a later block reads."""
    if not keep:
        return np.zeros((0, 1), np.float32)
    if len(keep) == matrix.shape[0]:
        return matrix
    for start in range(0, len(keep), block):
        rows = keep[start:start + block]
        matrix[start:start + len(rows)] = matrix[rows]
    return matrix[:len(keep)]


def _verified_queries(store: Store, sources: list[Any]) -> set[str]:
    statuses = store.verifications()
    if not statuses:
        raise MissingStageError("--verified-only: nothing verified yet; run "
                                "`prsynth verify --candidates` first")
    return {s.query_id for s in sources
            if statuses.get(s.pr_id, {}).get("status") == "verified"}


def _codes(labels: list[Any]) -> np.ndarray:
    return np.unique(np.array([str(label) for label in labels]), return_inverse=True)[1]


def select_queries(
    store: Store, config: Config, *, name: str = "", progress: Progress = quiet,
) -> SelectionResult:
    """Choose `[select] k` queries, store the run as `name` (default selection-N; an
    existing name is replaced), return its records and summary."""
    options = config.select
    check_select(options)
    stages_run = bring_up_to_date(store, config, progress)
    pool = gather_candidates(store, config, options.min_quality, options.verified_only)
    if not pool.ids:
        raise MissingStageError(
            "no candidates left to select from (all duplicates, rejected, below "
            "--min-quality or unverified with --verified-only); lower --min-quality, verify "
            "more with `prsynth verify --candidates` or clear marks with `prsynth mark --clear`"
        )
    per_repo = repo_cap(options.per_repo_cap, pool.repos, options.k)
    quotas = parse_quotas(options.quotas)
    type_codes, type_caps, _ = quota_groups(pool.task_types, quotas, options.k)
    constraints = Constraints(
        repos=_codes(pool.repos), clusters=_codes(pool.clusters),
        per_repo_cap=per_repo, per_cluster_cap=options.per_cluster_cap,
        pinned=pool.pinned, task_types=type_codes if quotas else None,
        task_type_caps=type_caps if quotas else {},
    )
    picks = select_diverse(
        options.method, pool.vectors, pool.quality, options.k, constraints=constraints,
        seed=options.seed, quality_weight=options.quality_weight, neighbours=options.neighbours,
        sample_above=options.sample_above,
    )
    items = [
        {
            "rank": rank, "query_id": pool.ids[p.index],
            "quality": round(float(pool.quality[p.index]), 4),
            "cluster": int(pool.clusters[p.index]) if pool.clusters[p.index] >= 0 else None,
            "why": p.why,
        }
        for rank, p in enumerate(picks, 1)
    ]
    chosen = [p.index for p in picks]
    nearest, best = nearest_picks(pool.vectors, chosen)  # one pass serves both
    explain_picks(store, items, pool, chosen, options.method,
                  np.bincount(nearest, minlength=len(chosen)))
    records = build_records(store, items)
    summary = summarize(records, pool, chosen, options.seed, mean_cover(best))
    summary["per_repo_cap"] = per_repo
    if quotas:
        summary["quotas"] = quotas
    latest = store.latest_selection()
    number = latest["id"] + 1 if latest else 1
    while not name and store.find_selection(f"selection-{number}"):
        number += 1
    name = name or f"selection-{number}"
    params = asdict(options)
    selection_id = store.save_selection(
        name, k=options.k, method=options.method, seed=options.seed, params=params,
        summary=summary, items=items,
    )
    log.info("stored selection %s (%d items)", name, len(items))
    return SelectionResult(selection_id, name, records, summary, stages_run)


def explain_picks(store: Store, items: list[dict[str, Any]], pool: Candidates,
                  chosen: list[int], method: str, covers: np.ndarray) -> None:
    """Give each item's `why` a readable `reason` beside its numbers (and `covers`: how
    many candidates have it as their closest pick)."""
    labels = store.cluster_labels()
    order = np.argsort(-pool.quality, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    for item, index, count in zip(items, chosen, covers, strict=True):
        item["why"]["covers"] = int(count)
        label = labels.get(item["cluster"], "") if item["cluster"] is not None else ""
        item["why"]["reason"] = why_sentence(
            item, covers=int(count), candidates=len(pool.ids), label=label,
            quality_rank=int(rank[index]), method=method)


def summarize(
    records: list[dict[str, Any]], pool: Candidates, chosen: list[int], seed: int,
    covered: float,
) -> dict[str, Any]:
    """Items per repository, cluster and task type; mean quality; coverage against random."""
    per_cluster: dict[str, dict[str, Any]] = {}
    for record in records:
        key = str(record["cluster"])
        row = per_cluster.setdefault(key, {"label": record["cluster_label"], "count": 0})
        row["count"] += 1
    baseline = random_coverage(pool.vectors, len(chosen), seed)
    return {
        "selected": len(records),
        "candidates": len(pool.ids),
        "excluded": pool.excluded,
        "pinned": len(pool.pinned),
        "per_repo": dict(Counter(r["repo"] for r in records).most_common()),
        "per_cluster": dict(sorted(per_cluster.items(), key=lambda kv: -kv[1]["count"])),
        "per_task_type": dict(Counter(r["task_type"] or "unknown" for r in records).most_common()),
        "mean_quality": round(float(np.mean([r["quality"] for r in records])), 4),
        "candidate_mean_quality": round(float(pool.quality.mean()), 4),
        "coverage": round(covered, 4),
        "random_coverage": round(baseline, 4),
        "coverage_vs_random": round(covered / baseline - 1, 4) if baseline > 0 else None,
    }
