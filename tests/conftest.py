import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from prsynth.cli import cli
from prsynth.store import Store
from tests.support.gitrepos import GitRepoBuilder

# Nothing in the suite may reach a model hub or a real service.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("PRSYNTH_STORE", None)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "prsynth.db") as opened:
        yield opened


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "prsynth.db"


@pytest.fixture
def gitrepo(tmp_path: Path) -> GitRepoBuilder:
    return GitRepoBuilder(tmp_path / "clone")


@pytest.fixture
def run_cli(store_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `prsynth --store STORE ARGS...` in-process; returns click's Result."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--store", str(store_path), *args], input=input)

    return run


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """One ONNX export cache per test session: the first embedding exports, the rest reuse it."""
    folder = tmp_path_factory.mktemp("prsynth-cache")
    os.environ["PRSYNTH_CACHE_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def minilm(onnx_cache):
    """The packaged all-MiniLM-L6-v2 on the default (OpenVINO) backend, exported and loaded
    once per session (prsynth caches it by name)."""
    from prsynth.stages.embed import DEFAULT_MODEL, load_embedder

    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def minilm_onnx(onnx_cache):
    """The same model on the ONNX Runtime backend (float32, the fused graph)."""
    from prsynth.stages.embed import DEFAULT_MODEL, load_embedder

    return load_embedder(DEFAULT_MODEL, backend="onnx")


@pytest.fixture(scope="session")
def minilm_torch():
    """The same model on the PyTorch backend, the reference the other backends must match."""
    from prsynth.stages.embed import DEFAULT_MODEL, load_embedder

    return load_embedder(DEFAULT_MODEL, backend="torch")
