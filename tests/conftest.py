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


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2, loaded once per session (prsynth caches it by name)."""
    from prsynth.stages.embed import DEFAULT_MODEL, load_embedder

    return load_embedder(DEFAULT_MODEL)
