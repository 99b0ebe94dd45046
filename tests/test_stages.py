import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.stages.embed import resolve_model
from prsynth.stages.registry import STAGES, run_stage, stale_stages
from prsynth.store import Store
from tests.support.vectordata import PARAPHRASES, add_query, fill_topics


def run_all(store: Store, config: Config) -> list[str]:
    ran = stale_stages(store, config)
    for stage in ran:
        run_stage(store, config, stage)
    return ran


def test_every_stage_is_missing_on_a_fresh_store(store):
    assert stale_stages(store, Config()) == list(STAGES)


def test_nothing_is_stale_after_running_the_stale_stages(store, minilm):
    fill_topics(store)
    config = Config()
    config.cluster.k = "4"
    assert run_all(store, config) == ["embed", "score", "dedupe", "cluster"]
    assert stale_stages(store, config) == []


def test_new_queries_make_every_stage_stale_and_are_then_deduplicated(store, minilm):
    fill_topics(store)
    config = Config()
    run_all(store, config)
    add_query(store, "late", PARAPHRASES[1][1], number=990, merged_at="2025-05-01T00:00:00Z")
    assert stale_stages(store, config) == ["embed", "score", "dedupe", "cluster"]
    run_all(store, config)
    # Recomputed, not silently reused; the group keeps its best-scored member.
    ((kept, duplicates),) = store.duplicate_groups().items()
    assert {kept, *(d.query_id for d in duplicates)} == {"q003", "late"}
    (dropped,) = store.duplicate_query_ids()
    assert dropped in store.map_coordinates() and dropped not in store.clusters()


def test_changed_query_text_makes_every_stage_stale(store, minilm):
    fill_topics(store)
    config = Config()
    run_all(store, config)
    add_query(store, "q001", "Rewrite the CLI in Rust", repo="acme/cli", number=1)
    assert stale_stages(store, config) == ["embed", "score", "dedupe", "cluster"]


def test_threshold_change_makes_dedupe_and_cluster_stale(store, minilm):
    fill_topics(store)
    config = Config()
    run_all(store, config)
    config.dedupe.threshold = 0.5
    assert stale_stages(store, config) == ["dedupe", "cluster"]
    run_all(store, config)
    assert store.duplicate_query_ids()  # a loose threshold groups related requests


def test_weight_change_makes_score_dedupe_and_cluster_stale(store, minilm):
    fill_topics(store)
    config = Config()
    run_all(store, config)
    config.score.weights = {"length": 5.0}
    assert stale_stages(store, config) == ["score", "dedupe", "cluster"]
    run_all(store, config)
    assert stale_stages(store, config) == []


def test_model_change_makes_every_stage_stale(store, minilm):
    fill_topics(store)
    config = Config()
    run_all(store, config)
    config.embed.model = resolve_model(config.embed.model)
    assert stale_stages(store, config) == ["embed", "dedupe", "cluster"]


def test_k_or_seed_change_makes_only_cluster_stale(store, minilm):
    fill_topics(store)
    config = Config()
    run_all(store, config)
    config.cluster.k = "3"
    assert stale_stages(store, config) == ["cluster"]
    run_all(store, config)
    config.cluster.seed = 9
    assert stale_stages(store, config) == ["cluster"]


def test_unknown_stage_is_a_config_error(store):
    with pytest.raises(ConfigError, match="unknown stage 'rank'"):
        run_stage(store, Config(), "rank")
