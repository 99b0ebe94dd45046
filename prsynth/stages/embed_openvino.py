"""The OpenVINO embedding backend (the default): the ONNX export, run in bfloat16 where the
CPU computes it natively.

OpenVINO reads the plain ONNX export that embed_onnx.py caches, so tokenization, batching
and pooling are the ONNX backend's; only the runtime differs. On a CPU with native
bfloat16 (AVX512_BF16 or AMX) the matrix products take bfloat16 inputs and accumulate in
float32, which halves their cost; elsewhere they run in float32. The vectors keep the
float32 model's neighbours and duplicate groups (docs/architecture.md "Embedding
backends" has the measured agreement), so they share its key in the store.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prsynth.errors import ConfigError
from prsynth.stages.embed_onnx import OnnxEmbedder, onnx_export


class OpenVinoEmbedder(OnnxEmbedder):
    """OnnxEmbedder on OpenVINO: one single-threaded stream per core (`threads`), each
    running its own batch, as the ONNX backend does with its sessions."""

    runtime = "openvino"
    # OpenVINO keeps each request's buffers for the largest batch it has run: 1,024
    # padded tokens hold ~40 MB less than 2,048 at the same speed (docs/architecture.md).
    token_budget = 1024

    def _load(self, quantized: bool) -> None:
        if quantized:
            raise ConfigError("OpenVINO runs no int8 model here; use --backend onnx-int8")
        try:
            import openvino
        except ImportError:
            raise ConfigError(
                "embedding backend 'openvino' needs the openvino package: pip install "
                "openvino, or use --backend onnx ([embed] backend = \"onnx\")") from None
        core = openvino.Core()
        native_bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        self.path = onnx_export(self.folder)
        if native_bf16:
            self.path = _float16_ir(openvino, self.path)
        self.compiled: Any = core.compile_model(str(self.path), "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16" if native_bf16 else "f32",
            "NUM_STREAMS": self.threads,
            "INFERENCE_NUM_THREADS": self.threads,
        })
        self.inputs = {name for port in self.compiled.inputs for name in port.get_names()}
        precision = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self._precision = "bf16" if "bf" in str(precision).lower() else "fp32"
        # Made once: a request keeps its buffers from call to call, so calls take turns.
        self.requests = [self.compiled.create_infer_request() for _ in range(self.threads)]
        self._turn = threading.Lock()

    @property
    def precision(self) -> str:
        return self._precision

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        with self._turn:
            return super().embed(texts, batch_size)

    def _vectors(self, batches: list[np.ndarray], feed: Callable[[np.ndarray], dict]
                 ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # Up to `threads` requests in flight; the oldest is pooled here, in this thread,
        # while the others run. (No completion callbacks: releasing a queue whose Python
        # callback still waits for the GIL can hang the process.)
        idle = self.requests[:max(1, min(self.threads, len(batches)))]
        running: deque[tuple[Any, np.ndarray, np.ndarray]] = deque()
        try:
            for rows in batches:
                if not idle:
                    yield self._finish(*running.popleft(), idle)
                inputs = feed(rows)
                request = idle.pop()
                request.start_async(inputs)
                running.append((request, rows, inputs["attention_mask"]))
            while running:
                yield self._finish(*running.popleft(), idle)
        finally:  # stopped early (an error, an interrupt): no request is left running
            for request, _, _ in running:
                request.wait()

    def _finish(self, request: Any, rows: np.ndarray, mask: np.ndarray,
                idle: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        request.wait()
        vectors = self._pool(request.get_output_tensor(0).data, mask)
        idle.append(request)
        return rows, vectors


def _float16_ir(openvino: Any, export: Path) -> Path:
    """The export saved as OpenVINO IR with float16 weights, next to it, keyed by the
    openvino version (made once). The products round their inputs to bfloat16 anyway, and
    compiling from this file holds ~120 MB less than compiling from the float32 export."""
    version = re.sub(r"[^0-9A-Za-z.]+", "_", openvino.__version__.split("-")[0])
    xml = export.with_name(f"model-openvino{version}-fp16.xml")
    if xml.is_file():
        return xml
    with tempfile.TemporaryDirectory(dir=export.parent, suffix=".part") as tmp:
        made = Path(tmp) / xml.name
        openvino.save_model(openvino.Core().read_model(str(export)), str(made),
                            compress_to_fp16=True)
        # The weights first: a present .xml always has its .bin.
        os.replace(made.with_suffix(".bin"), xml.with_suffix(".bin"))
        os.replace(made, xml)
    return xml
