"""Runners: where a task's environment is built and its tests run. `venv` (local virtual
environments) and `docker` (containers, prsynth/verify/docker.py; refused unless a Docker
daemon answers) run Python; the interface leaves room for Go and JavaScript runners.
See docs/architecture.md (verify)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from prsynth.errors import ConfigError
from prsynth.verify.docker import DockerRunner, docker_problem
from prsynth.verify.environment import Environment, EnvironmentCache
from prsynth.verify.tests_run import TestRun, network_isolation, run_pytest

RUNNERS = ("venv", "docker")
LANGUAGES = {".py": "python", ".go": "go", ".js": "javascript", ".mjs": "javascript",
             ".ts": "javascript", ".tsx": "javascript", ".jsx": "javascript"}


class Runner(Protocol):
    """Builds (or reuses) a task's environment and runs test files in it."""

    name: str
    languages: frozenset[str]

    def environment_id(self) -> str:
        """Names the environment family in the store ("venv:python3.11"); `{version}` in
        it stands for the Python version a task's environment names ("docker:python:
        {version}-slim")."""

    def isolation(self) -> str:
        """How tests are cut off the network ("" when they are not)."""

    def cache_stats(self) -> tuple[int, int]:
        """(environment cache hits, misses) so far."""

    def prepare(self, worktree: Path, repo: str, commit_date: str) -> Environment:
        """A ready environment for the worktree's dependency files as of `commit_date`
        (raises EnvironmentFailed)."""

    def run_tests(self, env: Environment, worktree: Path, test_files: list[str],
                  timeout: float) -> TestRun: ...


class VenvRunner:
    """Local virtual environments from `EnvironmentCache`, pytest without network."""

    name = "venv"
    languages = frozenset({"python"})

    def __init__(self, cache: EnvironmentCache) -> None:
        self.cache = cache
        self._id = ""

    def environment_id(self) -> str:
        if not self._id:
            try:
                version = subprocess.run(
                    [self.cache.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                    capture_output=True, text=True).stdout.strip()
            except OSError:
                version = ""
            if not version:
                raise ConfigError(f"[verify] python {self.cache.python!r}: cannot run it; "
                                  "name an installed Python interpreter")
            self._id = f"venv:python{version}"
        return self._id

    def isolation(self) -> str:
        return "unshare -n" if network_isolation() else ""

    def cache_stats(self) -> tuple[int, int]:
        return self.cache.hits, self.cache.misses

    def prepare(self, worktree: Path, repo: str, commit_date: str) -> Environment:
        return self.cache.get(worktree, repo, commit_date)

    def run_tests(self, env: Environment, worktree: Path, test_files: list[str],
                  timeout: float) -> TestRun:
        return run_pytest(env.python, worktree, test_files, timeout=timeout)


def make_runner(name: str, cache: EnvironmentCache, docker_image: str = "python:{version}-slim",
                docker_build_network: str = "") -> Runner:
    """The runner named on the command line or in [verify] runner."""
    if name == "venv":
        return VenvRunner(cache)
    if name == "docker":
        docker = shutil.which("docker")
        if not docker:
            raise ConfigError("--runner docker: no `docker` command on PATH; install "
                              "Docker or use --runner venv")
        problem = docker_problem(docker)
        if problem:
            raise ConfigError(f"--runner docker: no Docker daemon answers `docker info` "
                              f"({problem}); start Docker or use --runner venv")
        return DockerRunner(cache.root, docker_image, docker, docker_build_network)
    raise ConfigError(f"--runner {name!r}: unknown; choose one of {', '.join(RUNNERS)}")


def task_language(paths: list[str]) -> str:
    """The language a change is written in, by the extensions it touches most."""
    counts: dict[str, int] = {}
    for path in paths:
        language = LANGUAGES.get(Path(path).suffix.lower())
        if language:
            counts[language] = counts.get(language, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else ""
