"""The derived stages in pipeline order, which of them are stale, and running them.

Each stage stores, when it finishes, a fingerprint of its own inputs and settings
combined with the stored fingerprints of the stages it reads. A stage is stale when
the fingerprint it would store now differs from the stored one (new queries, another
model, weights or threshold), or when a stage it reads is stale. See
docs/architecture.md, "Stages".
"""

from __future__ import annotations

import logging

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError
from prsynth.progress import Progress, quiet
from prsynth.stages.base import Stage, StageReport
from prsynth.stages.cluster import ClusterStage
from prsynth.stages.dedupe import DedupeStage
from prsynth.stages.embed import EmbedStage
from prsynth.stages.score import ScoreStage
from prsynth.store import Store, fingerprint

log = logging.getLogger(__name__)

# Pipeline order. Score needs no vectors but comes before dedupe: each duplicate group
# keeps its best-scored member, so new scores can change the groups.
STAGES: dict[str, Stage] = {
    stage.name: stage for stage in (EmbedStage(), ScoreStage(), DedupeStage(), ClusterStage())
}


def stage_named(name: str) -> Stage:
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}; known stages: {', '.join(STAGES)}")
    return STAGES[name]


def fingerprint_now(store: Store, config: Config, name: str) -> str:
    """What stage `name` would store if it ran now on the stored upstream output."""
    stage = stage_named(name)
    upstream = [(up, store.stage_fingerprint(up)) for up in stage.reads]
    return fingerprint(name, stage.fingerprint(store, config), upstream)


def stale_stages(store: Store, config: Config) -> list[str]:
    """The stages (in pipeline order) whose output is missing or out of date for `config`."""
    stale: list[str] = []
    for name, stage in STAGES.items():
        if any(up in stale for up in stage.reads) \
                or store.stage_fingerprint(name) != fingerprint_now(store, config, name):
            stale.append(name)
    return stale


def run_stage(
    store: Store, config: Config, name: str, progress: Progress = quiet, *,
    stage: Stage | None = None,
) -> StageReport:
    """Run one stage with `config` and record its fingerprint.

    The stages it requires must have run on what is stored now; `bring_up_to_date`
    orders that. `stage` replaces the registered object (e.g. an `EmbedStage` with an
    embedder of your own). Results commit before the fingerprint does, so a crash in
    between only makes the stage look stale and run again.
    """
    stage = stage or stage_named(name)
    print_now = fingerprint_now(store, config, name)  # also checks the stage's settings
    if not store.count_queries():
        raise MissingStageError(
            f"store {store.path} has no queries to {name}; run `prsynth synth` first"
        )
    for up in stage.requires:
        stored = store.stage_fingerprint(up)
        if stored is None:
            raise MissingStageError(f"the {up} stage has not run; run `prsynth {up}` first")
        if stored != fingerprint_now(store, config, up):
            raise MissingStageError(
                f"the {up} stage's output is out of date (queries, vectors or settings "
                f"changed since); run `prsynth {up}` again, or `prsynth select`, which runs "
                "every stale stage in order (a flag such as --threshold lasts one command; "
                "put lasting settings in prsynth.toml)"
            )
    report = stage.run(store, config, progress)
    store.finish_stage(name, print_now, report.to_dict())
    log.info("%s: %s", name, report.summary())
    return report


def bring_up_to_date(store: Store, config: Config, progress: Progress = quiet) -> list[str]:
    """Run every missing or stale stage in pipeline order; return the names that ran."""
    # Computed once: running a stale stage can only make the stages that read it stale,
    # and those are already in the list.
    ran = stale_stages(store, config)
    for name in ran:
        run_stage(store, config, name, progress)
    return ran
