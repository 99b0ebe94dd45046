"""The ONNX embedding backend: same neighbours and duplicate groups as PyTorch, cached export."""

import numpy as np
import pytest

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.stages.embed import DEFAULT_MODEL, load_embedder
from prsynth.stages.embed_onnx import cache_root
from prsynth.stages.registry import run_stage
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


def test_onnx_vectors_keep_the_torch_neighbours_and_duplicate_groups(minilm, minilm_torch):
    onnx, torch = minilm.embed(TEXTS), minilm_torch.embed(TEXTS)
    assert onnx.shape == torch.shape == (len(TEXTS), 384)
    cosines = (onnx * torch).sum(axis=1) / (
        np.linalg.norm(onnx, axis=1) * np.linalg.norm(torch, axis=1))
    assert cosines.min() > 0.9999
    agreement = np.mean([len(a & b) / 10 for a, b in
                         zip(neighbours(onnx, 10), neighbours(torch, 10), strict=True)])
    assert agreement >= 0.99
    pairs = duplicate_pairs(torch, 0.92)
    assert pairs and duplicate_pairs(onnx, 0.92) == pairs


def test_order_of_the_input_does_not_change_any_vector(minilm):
    forward = minilm.embed(TEXTS, batch_size=4)
    backward = minilm.embed(TEXTS[::-1], batch_size=7)[::-1]
    assert np.allclose(forward, backward, atol=1e-5)


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


def test_unknown_backend_is_a_config_error_naming_the_choices(store: Store):
    fill_topics(store)
    with pytest.raises(ConfigError, match="backend 'cuda' is unknown; use one of onnx"):
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
