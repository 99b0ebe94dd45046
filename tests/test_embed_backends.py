"""The exported embedding backends (OpenVINO, the default, and ONNX Runtime): the neighbours
and duplicate groups of PyTorch, from a cached export."""

import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import openvino
import pytest

from prsynth.config import Config
from prsynth.crawl.run import crawl_import
from prsynth.errors import ConfigError
from prsynth.llm.offline import OfflineBaseline
from prsynth.resources import sample_prs_path
from prsynth.stages import embed, embed_onnx
from prsynth.stages.embed import DEFAULT_MODEL, load_embedder, resolve_model
from prsynth.stages.embed_onnx import OnnxEmbedder, cache_root, onnx_model
from prsynth.stages.embed_openvino import OpenVinoEmbedder
from prsynth.stages.registry import run_stage
from prsynth.stages.synth import SynthOptions, synthesize
from prsynth.store import Store
from tests.support.vectordata import TOPICS, fill_topics

# Every topic request, a near-duplicate of each (what dedupe must group) and a long one.
TEXTS = [text for texts in TOPICS.values() for text in texts]
TEXTS += [text.replace("Add", "Please add").rstrip(".") + ", thanks" for text in TEXTS]
TEXTS.append(" ".join(TEXTS[:12]))  # longer than max_seq_length: truncated the same way


def neighbours(vectors: np.ndarray, k: int) -> list[set[int]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return [set(row) for row in np.argsort(-sims, axis=1)[:, :k]]


def duplicate_pairs(vectors: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, cols = np.nonzero(np.triu(unit @ unit.T, 1) >= threshold)
    return set(zip(rows.tolist(), cols.tolist(), strict=True))


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(x & y) / 10 for x, y in
                          zip(neighbours(a, 10), neighbours(b, 10), strict=True)]))


@pytest.mark.parametrize("backend", ["minilm", "minilm_onnx"])
def test_vectors_keep_the_torch_neighbours_and_duplicate_groups(backend, request, minilm_torch):
    ours, torch = request.getfixturevalue(backend).embed(TEXTS), minilm_torch.embed(TEXTS)
    assert ours.shape == torch.shape == (len(TEXTS), 384)
    assert cosines(ours, torch).min() > 0.9999
    assert agreement(ours, torch) >= 0.99
    pairs = duplicate_pairs(torch, 0.92)
    assert pairs and duplicate_pairs(ours, 0.92) == pairs


def test_order_of_the_input_does_not_change_any_onnx_vector(minilm_onnx):
    forward = minilm_onnx.embed(TEXTS, batch_size=4)
    backward = minilm_onnx.embed(TEXTS[::-1], batch_size=7)[::-1]
    assert np.allclose(forward, backward, atol=1e-5)


def test_openvino_vectors_depend_on_the_batch_only_in_bfloat16_rounding(minilm):
    # Other batch-mates change the padded width, hence the order of the float32 sums
    # that bfloat16 rounds: the same text moves by a cosine of 1e-5 at most; the same
    # input gives the same vectors.
    forward = minilm.embed(TEXTS, batch_size=4)
    backward = minilm.embed(TEXTS[::-1], batch_size=7)[::-1]
    assert cosines(forward, backward).min() > 0.99999
    assert np.array_equal(minilm.embed(TEXTS, batch_size=4), forward)


def test_export_is_made_once_and_reused_from_the_cache_folder(minilm):
    exports = list((cache_root() / "onnx").glob("*/model.onnx"))
    assert len(exports) == 1
    stamp = exports[0].stat().st_mtime_ns
    again = load_embedder(DEFAULT_MODEL, threads=1)  # a new session from the cached file
    assert np.allclose(again.embed(TEXTS[:3]), minilm.embed(TEXTS[:3]), atol=1e-5)
    assert exports[0].stat().st_mtime_ns == stamp


def test_int8_vectors_are_cached_under_their_own_key(store: Store, minilm):
    fill_topics(store)
    run_stage(store, Config(), "embed")
    report = run_stage(store, Config().override("embed", backend="onnx-int8"), "embed")
    assert report.model == f"{DEFAULT_MODEL}#int8" and report.embedded == 24
    _, fp32 = store.query_vectors(DEFAULT_MODEL)
    _, int8 = store.query_vectors(f"{DEFAULT_MODEL}#int8")
    assert int8.shape == fp32.shape and 0.9 < float((int8 * fp32).sum(axis=1).min()) < 1.0


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_the_embed_stage_lets_go_of_the_model_when_it_is_done(store: Store, minilm, backend):
    # The compiled model would otherwise sit under dedupe's and selection's memory peak.
    fill_topics(store)
    assert run_stage(store, Config().override("embed", backend=backend), "embed").embedded == 24
    assert embed._exported_embedder.cache_info().currsize == 0


def test_unknown_backend_is_a_config_error_naming_the_choices(store: Store):
    fill_topics(store)
    with pytest.raises(ConfigError, match="backend 'cuda' is unknown; use one of openvino, onnx"):
        run_stage(store, Config().override("embed", backend="cuda"), "embed")
    assert store.count_vectors() == 0


def test_embed_backend_flag_selects_torch(run_cli, store_path, minilm_torch):
    with Store(store_path) as store:
        fill_topics(store)
    result = run_cli("embed", "--backend", "torch")
    assert result.exit_code == 0, result.output
    assert "embedded 24 new texts" in result.output
    bad = run_cli("embed", "--backend", "gpu")
    assert bad.exit_code == 2 and "'gpu' is not one of" in bad.output


@pytest.fixture
def private_cache(tmp_path, monkeypatch, minilm):
    """A cache folder of its own holding a copy of the session's plain export (so a test
    can fuse or refuse without exporting again or touching the shared cache)."""
    folder = Path(resolve_model(DEFAULT_MODEL))
    shared = minilm.path.parent / "model.onnx"
    monkeypatch.setenv("PRSYNTH_CACHE_DIR", str(tmp_path / "cache"))
    target = cache_root() / "onnx" / shared.parent.name
    target.mkdir(parents=True)
    shutil.copyfile(shared, target / "model.onnx")
    return folder, target


def test_the_onnx_backend_runs_the_fused_graph_from_the_cache(minilm_onnx):
    path = minilm_onnx.path
    assert path.name == f"model-fused-ort{onnxruntime.__version__}.onnx"
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["Attention"] == 6 and ops["SkipLayerNormalization"] == 12
    assert ops["BiasGelu"] == 6 and ops["Softmax"] == 0
    stamp = path.stat().st_mtime_ns
    again = load_embedder(DEFAULT_MODEL, "onnx", threads=1)  # a new session, cached files
    assert again.path == path and path.stat().st_mtime_ns == stamp
    assert np.allclose(again.embed(TEXTS[:5]), minilm_onnx.embed(TEXTS[:5]), atol=1e-5)


def test_a_new_export_recipe_or_onnxruntime_version_does_not_reuse_a_stale_file(
        private_cache, monkeypatch):
    folder, target = private_cache
    export = target / "model.onnx"
    stamp = export.stat().st_mtime_ns
    monkeypatch.setattr(onnxruntime, "__version__", "0.0.test")
    fused = onnx_model(folder)
    assert fused == target / "model-fused-ort0.0.test.onnx" and fused.is_file()
    assert export.stat().st_mtime_ns == stamp  # fused again from the cached export
    assert onnx_model(folder) == fused and not list(target.glob("*.part"))
    key = target.name
    monkeypatch.setattr(embed_onnx, "EXPORT_VERSION", embed_onnx.EXPORT_VERSION + 1)
    assert f"{folder.name}-{embed_onnx._folder_key(folder)}" != key


def test_a_model_the_fusion_cannot_keep_runs_on_the_plain_export(private_cache, monkeypatch,
                                                                  minilm_onnx):
    folder, target = private_cache
    monkeypatch.setattr(embed_onnx, "FUSABLE", ())
    embedder = OnnxEmbedder(DEFAULT_MODEL, str(folder), threads=2)
    assert embedder.path == target / "model.onnx"
    marker, = target.glob("*.refused")
    assert "model type 'bert' is not fused" in marker.read_text()
    monkeypatch.setattr(embed_onnx, "_fuse", None)  # never attempted again: the marker says so
    assert onnx_model(folder) == target / "model.onnx"
    plain, fused = embedder.embed(TEXTS), minilm_onnx.embed(TEXTS)
    assert float((plain * fused).sum(axis=1).min()) > 0.9999


@pytest.mark.parametrize("kind", [OnnxEmbedder, OpenVinoEmbedder])
def test_parallel_batches_give_the_vectors_of_one_thread(minilm, kind):
    one = kind(DEFAULT_MODEL, str(minilm.folder), threads=1)
    four = kind(DEFAULT_MODEL, str(minilm.folder), threads=4)
    assert np.array_equal(one.embed(TEXTS, batch_size=3), four.embed(TEXTS, batch_size=3))


@pytest.mark.slow
def test_openvino_and_onnx_keep_the_torch_neighbours_and_duplicates_of_the_real_sample(
        minilm, minilm_onnx, minilm_torch, tmp_path):
    with Store(tmp_path / "real.db") as store:
        crawl_import(store, sample_prs_path())
        synthesize(store, OfflineBaseline(), SynthOptions())
        texts = sorted({source.text for source in store.query_sources()})
    assert len(texts) > 150
    texts += [f"Quick one: {text}" for text in texts[:60]]  # near-duplicates, as users write
    torch_vectors = minilm_torch.embed(texts)
    theirs = duplicate_pairs(torch_vectors, 0.92)
    assert theirs
    for embedder in (minilm, minilm_onnx):
        vectors = embedder.embed(texts)
        assert agreement(vectors, torch_vectors) >= 0.99
        ours = duplicate_pairs(vectors, 0.92)
        assert len(ours & theirs) / len(ours | theirs) >= 0.99


def cpu_has_bfloat16() -> bool:
    flags = Path("/proc/cpuinfo").read_text().split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def test_openvino_computes_in_bfloat16_exactly_where_the_cpu_has_it(minilm):
    assert minilm.runtime == "openvino"
    if cpu_has_bfloat16():
        assert minilm.precision == "bf16"
        assert minilm.path.name == f"model-openvino{openvino.__version__.split('-')[0]}-fp16.xml"
        assert minilm.path.with_suffix(".bin").is_file()
    else:
        assert minilm.precision == "fp32" and minilm.path.name == "model.onnx"


def test_the_embed_report_names_the_runtime_and_precision(run_cli, store_path, minilm):
    with Store(store_path) as store:
        fill_topics(store)
    result = run_cli("embed")
    assert result.exit_code == 0, result.output
    assert f"with {DEFAULT_MODEL} (openvino {minilm.precision});" in result.output
    again = run_cli("embed", "--json")
    assert '"runtime": ""' in again.output and "embedded 0 new texts" in again.output


def test_the_openvino_file_is_made_once_per_openvino_version(private_cache, monkeypatch):
    folder, target = private_cache
    if not cpu_has_bfloat16():
        pytest.skip("the float16 IR is made only for CPUs with bfloat16")
    first = OpenVinoEmbedder(DEFAULT_MODEL, str(folder), threads=1)
    stamp = first.path.stat().st_mtime_ns
    again = OpenVinoEmbedder(DEFAULT_MODEL, str(folder), threads=1)
    assert again.path == first.path and first.path.stat().st_mtime_ns == stamp
    monkeypatch.setattr(openvino, "__version__", "9999.1.0-1-abc")
    newer = OpenVinoEmbedder(DEFAULT_MODEL, str(folder), threads=1)
    assert newer.path == target / "model-openvino9999.1.0-fp16.xml"
    assert not list(target.glob("*.part"))
    assert np.array_equal(newer.embed(TEXTS[:5]), first.embed(TEXTS[:5]))


def test_without_openvino_the_default_backend_says_how_to_get_it(run_cli, store_path,
                                                                 monkeypatch):
    with Store(store_path) as store:
        fill_topics(store)
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino raises ImportError
    embed._exported_embedder.cache_clear()
    result = run_cli("embed")
    assert result.exit_code == 2
    assert ("needs the openvino package: pip install openvino, or use --backend onnx"
            in result.output)
    assert "Traceback" not in result.output
    with Store(store_path) as store:
        assert store.count_vectors() == 0


def test_an_openvino_call_that_fails_midway_leaves_no_request_running(minilm, monkeypatch):
    pool, pooled = minilm._pool, []

    def failing(hidden, mask):  # the third batch fails while the fourth is running
        pooled.append(len(mask))
        if len(pooled) == 3:
            raise MemoryError("planted")
        return pool(hidden, mask)

    monkeypatch.setattr(minilm, "_pool", failing)
    with pytest.raises(MemoryError, match="planted"):
        minilm.embed(TEXTS, batch_size=2)
    monkeypatch.undo()
    # Every request is idle again: a busy one would refuse the next batch.
    assert np.array_equal(minilm.embed(TEXTS, batch_size=2), minilm.embed(TEXTS, batch_size=2))
