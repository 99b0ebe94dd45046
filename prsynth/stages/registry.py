"""Which derived stages are missing or stale, and running one of them.

Each stage stores a fingerprint of what determined its output (config id, input hashes,
upstream fingerprints) when it finishes. A stage is stale when the fingerprint it would
store now differs from the stored one, e.g. after new queries arrive, the embedding
model changes or the near-duplicate threshold changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.stages.cluster import cluster_fingerprint, cluster_queries
from prsynth.stages.dedupe import dedupe, dedupe_fingerprint
from prsynth.stages.embed import embed_fingerprint, embed_queries
from prsynth.stages.score import score_fingerprint, score_queries
from prsynth.store import Store

# Pipeline order. Score needs no vectors but comes before dedupe: each duplicate group
# keeps its best-scored member, so new scores can change the groups.
STAGES = ("embed", "score", "dedupe", "cluster")
# The stages whose output each stage reads: when one of them is stale, so is it.
UPSTREAM = {"embed": (), "score": (), "dedupe": ("embed", "score"), "cluster": ("dedupe",)}

Progress = Callable[[int, int], None]


def expected_fingerprints(store: Store, config: Config) -> dict[str, str]:
    """The fingerprint each stage would store if run now with `config`."""
    model = config.embed.vector_model
    dedupe_print = dedupe_fingerprint(store, model, config.dedupe.threshold)
    return {
        "embed": embed_fingerprint(store, model),
        "score": score_fingerprint(store, config.score.weights),
        "dedupe": dedupe_print,
        "cluster": cluster_fingerprint(config.cluster.k, config.cluster.seed, dedupe_print),
    }


def stale_stages(store: Store, config: Config) -> list[str]:
    """The stages (in pipeline order) whose output is missing or out of date for `config`."""
    expected = expected_fingerprints(store, config)
    stale: list[str] = []
    for stage in STAGES:
        if any(up in stale for up in UPSTREAM[stage]) \
                or store.stage_fingerprint(stage) != expected[stage]:
            stale.append(stage)
    return stale


def run_stage(
    store: Store, config: Config, stage: str, progress: Progress | None = None
) -> Any:
    """Run one stage with `config`'s settings and return its report."""
    if stage == "embed":
        return embed_queries(store, config.embed, progress)
    if stage == "score":
        return score_queries(store, config.score.weights, progress)
    if stage == "dedupe":
        return dedupe(store, config.dedupe.threshold, progress, config=config)
    if stage == "cluster":
        return cluster_queries(store, config.cluster.k, config.cluster.seed, progress)
    raise ConfigError(f"unknown stage {stage!r}; known stages: {', '.join(STAGES)}")
