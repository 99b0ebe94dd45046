"""The ONNX export of a sentence-transformers model, and the ONNX Runtime backend that runs it.

The model folder's transformer is exported to ONNX once, on first use, into a cache
folder (`cache_root()`), never downloaded, then fused by ONNX Runtime's transformer
optimizer (one Attention, SkipLayerNorm and BiasGelu op each where the export has
dozens); `onnx-int8` adds a dynamically quantized copy. Texts are tokenized once, sorted
by token length over the whole input and batched in that order, so each batch is padded
only to its own longest text (the measured length, capped by the model's
max_seq_length); one single-threaded run per core works on its own batch. Pooling and
normalization follow the folder's modules.json. The OpenVINO backend (embed_openvino.py)
runs the same export with this module's tokenization, batching and pooling. See
docs/architecture.md "Embedding backends" for the measured speed and agreement.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from prsynth.errors import ConfigError

log = logging.getLogger(__name__)

BACKENDS = ("openvino", "onnx", "onnx-int8", "torch")
# The module types this backend reproduces (sentence-transformers names, old and new).
_SUPPORTED = ("Transformer", "Pooling", "Normalize")
# Padded tokens per model call at most (unless one text alone is longer): 32 texts of 64
# tokens, or 8 of 256. Small batches stay in the core's cache and bound attention memory
# (batch x tokens^2); measured in docs/architecture.md "Embedding backends".
TOKEN_BUDGET = 2048
# Part of every cache key: a new export recipe (or fusion) never reuses an older file.
EXPORT_VERSION = 2


def cache_root() -> Path:
    """$PRSYNTH_CACHE_DIR, else $XDG_CACHE_HOME/prsynth, else ~/.cache/prsynth."""
    explicit = os.environ.get("PRSYNTH_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "prsynth"


def default_threads() -> int:
    """One intra-op thread per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _folder_key(folder: Path) -> str:
    """Changes when any file of the model folder changes (name, size, mtime) or the export
    recipe does (EXPORT_VERSION)."""
    parts = sorted(
        (str(p.relative_to(folder)), p.stat().st_size, int(p.stat().st_mtime))
        for p in folder.rglob("*") if p.is_file()
    )
    return hashlib.sha256(json.dumps([EXPORT_VERSION, parts]).encode()).hexdigest()[:16]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class OnnxEmbedder:
    """A sentence-transformers model folder run through ONNX Runtime (see module doc);
    OpenVinoEmbedder swaps the runtime and keeps the rest."""

    runtime = "onnx"
    token_budget = TOKEN_BUDGET

    def __init__(self, name: str, folder: str, *, quantized: bool = False,
                 threads: int = 0) -> None:
        self.name = name
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConfigError(_unsupported(name, "is not a local model folder"))
        self.pooling, self.normalize, self.max_length = _read_layout(name, self.folder)
        self.tokenizer = _load_tokenizer(name, self.folder, self.max_length)
        self.threads = threads or default_threads()
        self._load(quantized)

    def _load(self, quantized: bool) -> None:
        self.path = onnx_model(self.folder, quantized=quantized)
        self.session = _session(self.path)
        self.inputs = {i.name for i in self.session.get_inputs()}

    @property
    def precision(self) -> str:
        """What the matrix products compute in (shown in the embed report)."""
        return "int8" if self.path.name == "model-int8.onnx" else "fp32"

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64,
                              count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        batches = _batches(order, lengths, batch_size, self.token_budget)

        def feed(rows: np.ndarray) -> dict[str, np.ndarray]:
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, index in enumerate(rows):
                enc = encodings[index]
                ids[row, :len(enc.ids)] = enc.ids
                mask[row, :len(enc.ids)] = 1
            inputs = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                inputs["token_type_ids"] = np.zeros_like(ids)
            return inputs

        out: np.ndarray | None = None
        for rows, vectors in self._vectors(batches, feed):
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def _vectors(self, batches: list[np.ndarray], feed: Callable[[np.ndarray], dict]
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(rows, pooled vectors) for every batch, in any order."""
        def run(rows: np.ndarray) -> np.ndarray:
            inputs = feed(rows)
            hidden = self.session.run(None, inputs)[0]
            return self._pool(hidden, inputs["attention_mask"])

        # One single-threaded run per core, each on its own batch (ONNX Runtime releases
        # the GIL): no barrier between cores per op, so a core another process takes
        # delays one batch, not every matrix product (docs/architecture.md).
        workers = min(self.threads, len(batches))
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
                yield from zip(batches, pool.map(run, batches), strict=True)
        else:
            yield from ((rows, run(rows)) for rows in batches)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            vectors = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return vectors


def _batches(order: np.ndarray, lengths: np.ndarray, batch_size: int,
             budget: int = TOKEN_BUDGET) -> list[np.ndarray]:
    """Consecutive runs of `order` (shortest first) of at most `batch_size` texts and about
    `budget` padded tokens: long texts go in smaller batches, which bounds peak memory."""
    batches, start = [], 0
    while start < len(order):
        end = min(start + batch_size, len(order))
        while end - start > 1 and (end - start) * int(lengths[order[end - 1]]) > budget:
            end = start + max(1, budget // int(lengths[order[end - 1]]))
        batches.append(order[start:end])
        start = end
    return batches


def _unsupported(name: str, why: str) -> str:
    return (f"embedding model {name!r} {why} for the ONNX backend; use --backend torch "
            f"(or [embed] backend = \"torch\")")


def _read_layout(name: str, folder: Path) -> tuple[str, bool, int]:
    """(pooling mode, normalize?, max_seq_length) from the folder's sentence-transformers files."""
    modules = _read_json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        raise ConfigError(_unsupported(name, "has no sentence-transformers modules.json"))
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[0] != "Transformer" or any(k not in _SUPPORTED for k in kinds):
        raise ConfigError(_unsupported(name, f"has modules {kinds}"))
    pooling = "mean"
    for module, kind in zip(modules, kinds, strict=True):
        if kind == "Pooling":
            conf = _read_json(folder / module.get("path", "") / "config.json") or {}
            if conf.get("pooling_mode_cls_token"):
                pooling = "cls"
            elif not conf.get("pooling_mode_mean_tokens", True):
                raise ConfigError(_unsupported(name, "pools neither by mean nor by CLS token"))
    config = _read_json(folder / "sentence_bert_config.json") or {}
    return pooling, "Normalize" in kinds, int(config.get("max_seq_length") or 512)


def _load_tokenizer(name: str, folder: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(_unsupported(name, "has no tokenizer.json"))
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def onnx_export(folder: Path) -> Path:
    """The cached plain ONNX export of `folder`'s transformer (exported now when missing)."""
    target = cache_root() / "onnx" / f"{folder.name}-{_folder_key(folder)}"
    fp32 = target / "model.onnx"
    if not fp32.is_file():
        log.info("exporting %s to ONNX in %s (once)", folder, target)
        _atomic(fp32, lambda tmp: _export(folder, tmp))
    return fp32


def onnx_model(folder: Path, *, quantized: bool = False) -> Path:
    """The cached, fused ONNX model of `folder` (exported and fused now when missing; the
    plain export when fusing does not keep its outputs), or its int8 copy."""
    fp32 = onnx_export(folder)
    target = fp32.parent
    if quantized:
        int8 = target / "model-int8.onnx"
        if not int8.is_file():
            _atomic(int8, lambda tmp: _quantize(fp32, tmp))
        return int8
    return _fused(folder, fp32) or fp32


def _fused(folder: Path, fp32: Path) -> Path | None:
    """The export with its attention, layer norms and GELUs fused by ONNX Runtime's
    transformer optimizer, keyed by the onnxruntime version that fused it; None when the
    model is not BERT-shaped or the fused graph's outputs differ from the export's (a
    marker file remembers that, so the attempt is made once)."""
    import onnxruntime as ort

    fused = fp32.with_name(f"model-fused-ort{ort.__version__}.onnx")
    refused = fused.with_suffix(".refused")
    if fused.is_file():
        return fused
    if refused.is_file():
        return None
    config = _read_json(folder / "config.json") or {}
    why = None
    if config.get("model_type") not in FUSABLE:
        why = f"model type {config.get('model_type')!r} is not fused"
    else:
        try:
            _atomic(fused, lambda tmp: _fuse(config, fp32, tmp))
        except Exception as exc:  # the optimizer raises many types on graphs it cannot fuse
            why = f"{type(exc).__name__}: {exc}"
    if why is None:
        return fused
    log.info("using the plain ONNX export of %s: %s", folder, why)
    _atomic(refused, lambda tmp: tmp.write_text(why + "\n", encoding="utf-8"))
    return None


# Model types whose exports ONNX Runtime's "bert" fusion recognizes.
FUSABLE = ("bert",)


def _fuse(config: dict[str, Any], fp32: Path, path: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    model = optimize_model(str(fp32), model_type="bert",
                           num_heads=int(config["num_attention_heads"]),
                           hidden_size=int(config["hidden_size"]))
    model.save_model_to_file(str(path))
    # Padded rows and a masked tail must give what the plain export gives.
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 2000, size=(3, 19), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 11:] = 0
    mask[2, 4:] = 0
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    plain, fused = (_session(p).run(None, feed)[0] for p in (fp32, path))
    keep = mask.astype(bool)
    if not np.allclose(plain[keep], fused[keep], atol=1e-3):
        raise ValueError("the fused graph's outputs differ from the export's")


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename (no half files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export(folder: Path, path: Path) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention exports the classic MatMul/Softmax pattern the fusion recognizes.
    model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = torch.ones((2, 8), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(), (sample, sample, torch.zeros_like(sample)), str(path),
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17, dynamo=False,
        )


def _quantize(fp32: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True)


def _session(path: Path) -> Any:
    """A single-threaded session: OnnxEmbedder.embed runs one per core on its own batch."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
