"""Vectors in the store: float16 rows (half the bytes) that keep every neighbour and
duplicate group, and float32 rows written before that which still read."""

import numpy as np

from prsynth.config import Config
from prsynth.records import Query
from prsynth.stages.dedupe import near_duplicate_pairs
from prsynth.stages.embed import DEFAULT_MODEL
from prsynth.stages.registry import run_stage
from prsynth.store import Store, text_hash
from tests.support.selectdata import fill_sample
from tests.support.vectordata import fill_topics


def test_vectors_are_stored_as_float16_and_float32_rows_written_before_still_read(
    store: Store,
):
    fill_topics(store)
    sources = sorted(store.query_sources(), key=lambda s: s.query_id)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(sources), 48)).astype(np.float32)
    store.put_vectors("m", ((text_hash(s.text), v) for s, v in zip(sources[1:], vectors[1:],
                                                                   strict=True)))
    with store.transaction() as db:  # a row as releases before float16 storage wrote it
        db.execute("INSERT INTO embeddings VALUES ('m', ?, 48, ?, '2025-01-01T00:00:00Z')",
                   (text_hash(sources[0].text), vectors[0].tobytes()))
    sizes = {len(blob) for (blob,) in store.db.execute(
        "SELECT vector FROM embeddings WHERE model = 'm'")}
    assert sizes == {48 * 2, 48 * 4}
    ids, matrix = store.query_vectors("m")
    assert ids == [s.query_id for s in sources] and matrix.dtype == np.float32
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.array_equal(matrix[0], unit[0])  # the float32 row, exactly
    assert np.abs(matrix[1:] - unit[1:]).max() < 1e-3


def test_a_query_without_a_vector_is_left_out_without_shifting_the_others(store: Store):
    fill_topics(store)
    sources = sorted(store.query_sources(), key=lambda s: s.query_id)
    store.put_vectors("m", ((text_hash(s.text), np.full(4, i + 1.0) * [1, 0, 0, 1])
                            for i, s in enumerate(sources) if i != 3))
    ids, matrix = store.query_vectors("m")
    assert ids == [s.query_id for i, s in enumerate(sources) if i != 3]
    assert np.allclose(matrix, np.tile([2 ** -0.5, 0, 0, 2 ** -0.5], (len(ids), 1)), atol=1e-3)


def _neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1)[:, :k]


def test_float16_storage_keeps_the_neighbours_and_duplicate_groups_of_real_requests(
    store: Store, minilm
):
    fill_sample(store)  # one request per bundled real PR the filters keep (180)
    for number, source in enumerate(sorted(store.query_sources(), key=lambda s: s.query_id)):
        if number % 4 == 0:  # near-duplicates for dedupe to group
            store.put_query(Query(id=source.query_id + "-again", pr_id=source.pr_id,
                                  query="Quick one: " + source.text, prompt="vibe_request@1",
                                  model="offline-baseline"))
    run_stage(store, Config(), "embed")
    ids, stored = store.query_vectors(DEFAULT_MODEL)
    texts = {s.query_id: s.text for s in store.query_sources()}
    exact = minilm.embed([texts[i] for i in ids])
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    assert len(ids) >= 200
    agreement = np.mean([len(set(a) & set(b)) / 10 for a, b in
                         zip(_neighbours(stored, 10), _neighbours(exact, 10), strict=True)])
    assert agreement >= 0.99
    threshold = Config().dedupe.threshold

    def pairs(vectors):
        return {(int(i), int(j)) for i, j, _ in near_duplicate_pairs(vectors, threshold)}

    ours, theirs = pairs(stored), pairs(exact)
    assert len(theirs) >= 40
    assert len(ours & theirs) / len(ours | theirs) >= 0.99
