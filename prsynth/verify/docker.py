"""The `docker` runner: each task's environment and tests in a container of a Python
image matching the repository's `python_requires` (`[verify] docker_image`, default
`python:{version}-slim`). The venv lives in the environment cache on the host, mounted
at the same path, one per repository, image and dependency-file hash, reused across
tasks; the build container uses Docker's default network (the package registry), test
containers `--network none`. Containers run as the calling user, are named and
labelled with prsynth's PID, killed and removed on timeout, and a later run removes
those a killed prsynth left. See docs/architecture.md (verify)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import threading
import tomllib
import uuid
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from prsynth.errors import ConfigError
from prsynth.verify.environment import (
    LOG_TAIL,
    Environment,
    EnvironmentCache,
    EnvironmentFailed,
    failure_reason,
)
from prsynth.verify.tests_run import TestRun, run_pytest
from prsynth.verify.workspace import alive

# CPython feature releases and when they came out: a task gets the newest one released
# by its base commit that its python_requires allows.
PYTHONS = (("3.13", "2024-10-07"), ("3.12", "2023-10-02"), ("3.11", "2022-10-24"),
           ("3.10", "2021-10-04"), ("3.9", "2020-10-05"), ("3.8", "2019-10-14"),
           ("3.7", "2018-06-27"))
LABEL = "prsynth.verify.pid"
SETUP_PY_REQUIRES = re.compile(r"python_requires\s*=\s*[\"']([^\"']+)[\"']")
PULL_TIMEOUT = 900
# One container builds the venv: `sh -c BUILD env requirements [package]`.
BUILD = ('set -e; env="$1"; req="$2"; shift 2; python3 -m venv --system-site-packages "$env"; '
         '"$env/bin/python" -m pip install -q "$@" -r "$req"; '
         '"$env/bin/python" -m pip freeze > "$env/.prsynth-freeze"; '
         '"$env/bin/python" -c "import platform; print(platform.python_version())"')


def python_requires(worktree: Path) -> str:
    """The repository's python_requires: pyproject's requires-python, setup.cfg's
    [options] python_requires or setup.py's python_requires= ("" when none)."""
    try:
        data = tomllib.loads((worktree / "pyproject.toml").read_text("utf-8"))
        found = data.get("project", {}).get("requires-python", "")
        if isinstance(found, str) and found:
            return found
    except (OSError, tomllib.TOMLDecodeError):
        pass
    cfg = configparser.ConfigParser(interpolation=None)
    try:
        cfg.read(worktree / "setup.cfg", encoding="utf-8")
        if cfg.get("options", "python_requires", fallback=""):
            return cfg.get("options", "python_requires").strip()
    except configparser.Error:
        pass
    try:
        match = SETUP_PY_REQUIRES.search((worktree / "setup.py").read_text("utf-8", "replace"))
    except OSError:
        match = None
    return match.group(1) if match else ""


def python_version(requires: str, commit_date: str) -> str:
    """The newest Python released by `commit_date` that `requires` allows (the oldest
    allowed when none was out yet); raises EnvironmentFailed when none is allowed."""
    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        spec = SpecifierSet()
    allowed = [(v, day) for v, day in PYTHONS
               if any(spec.contains(f"{v}.{n}", prereleases=True) for n in (0, 99))]
    if not allowed:
        raise EnvironmentFailed(f"python_requires {requires!r} allows none of Python "
                                f"{PYTHONS[-1][0]}-{PYTHONS[0][0]}")
    released = [v for v, day in allowed if not commit_date or day <= commit_date[:10]]
    return released[0] if released else allowed[-1][0]


class DockerEnvironments(EnvironmentCache):
    """Environments built in containers of one image, kept in the host's cache."""

    def __init__(self, root: Path, image: str, docker: str, network: str = "", *,
                 timeout: float = 900) -> None:
        super().__init__(root, f"docker:{image}", timeout=timeout)
        self.uv = None  # the image's pip builds (uv is not in the image)
        self.image, self.docker, self.network = image, docker, network

    def get(self, worktree: Path, repo: str, commit_date: str = "") -> Environment:
        env = super().get(worktree, repo, commit_date)
        env.name, env.image = f"docker:{self.image}", self.image
        return env

    def _install(self, log: list[str], path: Path, worktree: Path, package: list[str],
                 requirements: Path, as_of: str) -> tuple[str, str]:
        pip_cache = self.root / "pip-cache"
        pip_cache.mkdir(parents=True, exist_ok=True)
        variables = {"HOME": "/tmp", "PIP_CACHE_DIR": str(pip_cache),
                     "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        path.mkdir(parents=True, exist_ok=True)  # the container sees only this environment
        inside = path / ".prsynth-requirements.txt"
        shutil.copyfile(requirements, inside)
        name = container_name()
        log.append(f"$ docker run {self.image} python3 -m venv --system-site-packages && "
                   f"pip install {' '.join(package)} -r requirements\n")
        try:
            create_container(self.docker, name, self.image, [
                "timeout", "-s", "KILL", str(int(self.timeout) + 60),
                "sh", "-c", BUILD, "build", str(path), str(inside), *package],
                [worktree.parent, path, pip_cache], variables, workdir=worktree,
                network=self.network)
            done = subprocess.run([self.docker, "start", "-a", name], capture_output=True,
                                  text=True, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise EnvironmentFailed(f"environment build timed out after {self.timeout:.0f}s "
                                    f"in {self.image}", "".join(log)[-LOG_TAIL:]) from None
        finally:
            remove_container(self.docker, name)
        log.append(done.stdout + done.stderr)
        if done.returncode != 0:
            raise EnvironmentFailed(f"environment build in {self.image} failed: "
                                    f"{failure_reason(done.stderr or done.stdout)}",
                                    "".join(log)[-LOG_TAIL:])
        freeze = (path / ".prsynth-freeze").read_text("utf-8", "replace")
        return done.stdout.strip().splitlines()[-1], freeze


class DockerRunner:
    """Python tasks in containers: one image per Python version, `--network none` tests."""

    name = "docker"
    languages = frozenset({"python"})

    def __init__(self, root: Path, pattern: str, docker: str, build_network: str = "") -> None:
        try:
            usable = "{version}" in pattern and bool(pattern.format(version="3.11"))
        except (KeyError, IndexError, ValueError):
            usable = False
        if not usable:
            raise ConfigError(f"[verify] docker_image {pattern!r}: must contain {{version}} "
                              "and no other braces, e.g. \"python:{version}-slim\"")
        self.root, self.pattern, self.docker = Path(root), pattern, docker
        self.build_network = build_network
        self._caches: dict[str, DockerEnvironments] = {}
        self._images: dict[str, str] = {}  # image -> "" when usable, else why not
        self._lock = threading.Lock()
        remove_stale_containers(docker)

    def environment_id(self) -> str:
        return f"docker:{self.pattern}"

    def isolation(self) -> str:
        return "docker --network none"

    def cache_stats(self) -> tuple[int, int]:
        return (sum(c.hits for c in self._caches.values()),
                sum(c.misses for c in self._caches.values()))

    def prepare(self, worktree: Path, repo: str, commit_date: str) -> Environment:
        requires = python_requires(worktree)
        image = self.pattern.format(version=python_version(requires, commit_date))
        with self._lock:
            if image not in self._images:
                self._images[image] = self._ensure_image(image)
            cache = self._caches.setdefault(image, DockerEnvironments(
                self.root, image, self.docker, self.build_network))
        if self._images[image]:
            raise EnvironmentFailed(self._images[image], environment=f"docker:{image}")
        return cache.get(worktree, repo, commit_date)

    def _ensure_image(self, image: str) -> str:
        """"" when the image is here or pulled, else the one-line reason."""
        if subprocess.run([self.docker, "image", "inspect", image],
                          capture_output=True).returncode == 0:
            return ""
        try:
            pulled = subprocess.run([self.docker, "pull", "-q", image], capture_output=True,
                                    text=True, timeout=PULL_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"docker image {image} is not here and `docker pull` timed out"
        if pulled.returncode == 0:
            return ""
        last = failure_reason(pulled.stderr) or "no reason given"
        return (f"docker image {image} is not here and `docker pull` failed ({last}); pull "
                "or build it, or set [verify] docker_image")

    def run_tests(self, env: Environment, worktree: Path, test_files: list[str],
                  timeout: float) -> TestRun:
        name = container_name()

        def wrap(command: list[str], variables: dict[str, str]) -> list[str]:
            # created before the clock starts (copying the image can take a while), so a
            # timeout always finds the container to kill; `timeout` inside ends it even
            # if prsynth is killed with -9
            create_container(self.docker, name, env.image,
                             ["timeout", "-s", "KILL", str(int(timeout) + 60), *command],
                             [worktree.parent, env.path], variables, workdir=worktree,
                             network="none")
            return [self.docker, "start", "-a", name]

        try:
            return run_pytest(env.python, worktree, test_files, timeout=timeout, wrap=wrap,
                              on_timeout=lambda: remove_container(self.docker, name))
        finally:
            remove_container(self.docker, name)


def container_name() -> str:
    return f"prsynth-verify-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def create_container(docker: str, name: str, image: str, command: list[str],
                     mounts: list[Path], variables: dict[str, str], *, workdir: Path,
                     network: str) -> None:
    """`docker create`: named and labelled with prsynth's PID, as the calling user, each
    mount at its own path, only `variables` set inside; `docker start -a` runs it and
    `remove_container` removes it whatever happened."""
    argv = [docker, "create", "--name", name, "--label", f"{LABEL}={os.getpid()}",
            "--user", f"{os.getuid()}:{os.getgid()}", "-w", str(workdir)]
    if network:
        argv += ["--network", network]
    for mount in dict.fromkeys(str(m) for m in mounts):
        argv += ["-v", f"{mount}:{mount}"]
    for key, value in variables.items():
        argv += ["-e", f"{key}={value}"]
    done = subprocess.run([*argv, image, *command], capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise EnvironmentFailed(f"docker create ({image}) failed: "
                                f"{failure_reason(done.stderr or done.stdout)}")


def remove_container(docker: str, name: str) -> None:
    """Kill and remove a container (synchronously: it is gone when this returns)."""
    subprocess.run([docker, "rm", "-f", name], capture_output=True, timeout=300)


def remove_stale_containers(docker: str) -> None:
    """Containers a killed prsynth left behind (their prsynth PID is gone)."""
    listed = subprocess.run([docker, "ps", "-a", "--filter", f"label={LABEL}", "--format",
                             f'{{{{.ID}}}} {{{{.Label "{LABEL}"}}}}'],
                            capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        cid, _, pid = line.partition(" ")
        if pid.isdigit() and not alive(int(pid)):
            remove_container(docker, cid)


def docker_problem(docker: str) -> str:
    """"" when a daemon answers `docker info`, else the last line of what it said."""
    try:
        answered = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer in 20 s"
    if answered.returncode == 0:
        return ""
    return (failure_reason(answered.stderr) or failure_reason(answered.stdout)
            or f"`docker info` exited {answered.returncode}")
