"""Python environments for verification: one virtual environment per repository and
dependency-file hash, built once and reused by every task that shares it.

The package is installed from the task's worktree with its test extras, the test
requirements files it carries, its PEP 735 test dependency groups, and pytest; the
tests then import the worktree's code ahead of that installed copy. `uv` builds when it
is installed (much faster), else `python -m venv` and pip. See docs/architecture.md
(verify)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
TEST_REQUIREMENTS = re.compile(
    r"^(requirements[^/]*/)?[^/]*(test|tests|testing)[^/]*\.(txt|in)$", re.IGNORECASE
)
TEST_NAMES = ("test", "tests", "testing")
# "-e .[all]" or ".[dev,test]" in a requirements file: the package itself, with extras
SELF_INSTALL = re.compile(r"^(?:(?:-e|--editable)\s+)?[\"']?\.[/\\]?(?:\[([\w,\s-]*)\])?[\"']?$")
# Bumped when what an environment holds changes, so cached ones are rebuilt.
ENV_VERSION = 2
READY = ".prsynth-ready.json"
LOG_TAIL = 4000


class EnvironmentFailed(Exception):
    """The environment could not be built; the message says why, `log_tail` shows how."""

    def __init__(self, message: str, log_tail: str = "", environment: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail
        self.environment = environment  # the store's environment name, when known


@dataclass
class Environment:
    """A ready virtual environment: its python, the installed requirements, how it came."""

    key: str
    path: Path
    python_version: str
    requirements: list[str] = field(default_factory=list)
    cache_hit: bool = False
    seconds: float = 0.0
    log_tail: str = ""
    name: str = ""  # the store's environment name when the runner's varies by task
    image: str = ""  # the docker runner's image

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")


def requirements_files(worktree: Path) -> list[str]:
    """The test requirements file at the top level or in a requirements folder: one, the
    plainest name (`tests.txt` over `tests37.txt`), `.txt` over the `.in` it came from."""
    found = []
    for path in [*worktree.glob("*.txt"), *worktree.glob("*.in"),
                 *worktree.glob("requirements*/*.txt"), *worktree.glob("requirements*/*.in")]:
        rel = path.relative_to(worktree).as_posix()
        if TEST_REQUIREMENTS.match(rel) and path.is_file():
            found.append(rel)
    found.sort(key=lambda rel: (len(rel), rel.endswith(".in"), rel))
    return found[:1]


def as_of_month(commit_date: str) -> str:
    """The first day of the month after a commit: packages published before it make the
    environment (uv's --exclude-newer), so old code meets the dependencies of its time
    and tasks from one month share an environment."""
    year, month = int(commit_date[:4]), int(commit_date[5:7])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01T00:00:00Z"


def dependency_key(worktree: Path, repo: str, python: str, as_of: str = "") -> str:
    """The environment's identity: repository, interpreter, package cut-off date and every
    dependency file."""
    digest = hashlib.sha256(f"{ENV_VERSION}\0{repo}\0{python}\0{as_of}".encode())
    for rel in [*PACKAGE_FILES, *requirements_files(worktree)]:
        path = worktree / rel
        if path.is_file():
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{repo.replace('/', '+')}-{digest.hexdigest()[:16]}"


def combined_requirements(worktree: Path) -> tuple[list[str], list[str]]:
    """(requirement lines, extras of the package): the lines of the test requirements
    file (with `-r` includes inlined; editable and local-path lines dropped, the package
    is installed on its own, but the extras they name are kept) and of the pyproject's
    test dependency groups."""
    lines: list[str] = []
    extras = list(TEST_NAMES)
    for rel in requirements_files(worktree):
        lines.extend(_requirement_lines(worktree / rel, worktree, set(), extras))
    lines.extend(_test_groups(worktree / "pyproject.toml"))
    return list(dict.fromkeys(lines)), list(dict.fromkeys(extras))


def _requirement_lines(path: Path, worktree: Path, seen: set[Path],
                       extras: list[str]) -> list[str]:
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    lines = []
    for raw in path.read_text("utf-8", "replace").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            target = (path.parent / line.split(None, 1)[1]).resolve()
            if worktree.resolve() in target.parents:
                lines.extend(_requirement_lines(target, worktree, seen, extras))
        elif match := SELF_INSTALL.match(line):
            extras.extend(e.strip() for e in (match.group(1) or "").split(",") if e.strip())
        elif not line.startswith(("-", ".", "/", "file:")):
            lines.append(line)
    return lines


def _test_groups(pyproject: Path) -> list[str]:
    try:
        groups = tomllib.loads(pyproject.read_text("utf-8")).get("dependency-groups", {})
    except (OSError, tomllib.TOMLDecodeError):
        return []
    out: list[str] = []

    def expand(name: str, depth: int = 0) -> None:
        for item in groups.get(name, []) if depth < 5 else []:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, dict) and "include-group" in item:
                expand(item["include-group"], depth + 1)

    for name in TEST_NAMES:
        expand(name)
    return out


def uv_binary() -> str | None:
    """The `uv` executable when installed (on PATH or as the `uv` Python package)."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv  # type: ignore[import-not-found]

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


class EnvironmentCache:
    """Virtual environments under `root`, keyed by `dependency_key`, built under a lock."""

    def __init__(self, root: Path, python: str = "", *, timeout: float = 900) -> None:
        self.root = Path(root)
        self.python = python or getattr(sys, "_base_executable", sys.executable)
        self.timeout = timeout
        self.uv = uv_binary()
        self.hits = self.misses = 0
        self.failed: dict[str, EnvironmentFailed] = {}

    def get(self, worktree: Path, repo: str, commit_date: str = "") -> Environment:
        """The environment for the worktree's dependency files, built when missing, from
        packages published before the month after `commit_date` (with uv)."""
        as_of = as_of_month(commit_date) if commit_date and self.uv else ""
        key = dependency_key(worktree, repo, self.python, as_of)
        envs = self.root / "envs"
        envs.mkdir(parents=True, exist_ok=True)
        path = envs / key
        with open(envs / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ready = _read_ready(path)
            if ready is not None:
                self.hits += 1
                return Environment(key, path, ready["python_version"],
                                   ready["requirements"], cache_hit=True)
            self.misses += 1
            if key in self.failed:  # one failed build per run, not one per task
                raise self.failed[key]
            try:
                return self._build(key, path, worktree, as_of)
            except EnvironmentFailed as exc:
                self.failed[key] = exc
                raise

    def _build(self, key: str, path: Path, worktree: Path, as_of: str) -> Environment:
        shutil.rmtree(path, ignore_errors=True)  # a build killed half-way
        started = time.monotonic()
        log: list[str] = []
        requirements = path.parent / f"{key}.requirements.txt"
        lines, extras = combined_requirements(worktree)
        requirements.write_text("\n".join(["pytest", *lines]) + "\n")
        # A folder of scripts and tests without packaging files: only its requirements.
        package = ([f"{worktree}[{','.join(extras)}]"]
                   if any((worktree / name).is_file() for name in PACKAGE_FILES) else [])
        try:
            version, freeze = self._install(log, path, worktree, package, requirements, as_of)
        finally:
            requirements.unlink(missing_ok=True)
        installed = sorted(line for line in freeze.splitlines()
                           if line and not line.startswith(("-e ", "#")))
        (path / READY).write_text(json.dumps(
            {"python_version": version, "requirements": installed}))
        return Environment(key, path, version, installed,
                           seconds=round(time.monotonic() - started, 2),
                           log_tail="".join(log)[-LOG_TAIL:])

    def _install(self, log: list[str], path: Path, worktree: Path, package: list[str],
                 requirements: Path, as_of: str) -> tuple[str, str]:
        """Create the venv at `path` and install into it; (Python version, pip freeze)."""
        if self.uv:
            self._step(log, [self.uv, "venv", "-q", "-p", self.python, str(path)])
            python = str(path / "bin" / "python")
            cutoff = ["--exclude-newer", as_of] if as_of else []
            self._step(log, [self.uv, "pip", "install", "-p", python, *cutoff, *package,
                             "-r", str(requirements)], cwd=worktree)
            freeze = self._step(log, [self.uv, "pip", "freeze", "-p", python])
        else:
            self._step(log, [self.python, "-m", "venv", str(path)])
            python = str(path / "bin" / "python")
            self._step(log, [python, "-m", "pip", "install", "-q", *package,
                             "-r", str(requirements)], cwd=worktree)
            freeze = self._step(log, [python, "-m", "pip", "freeze"])
        version = self._step(log, [python, "-c", "import platform;"
                                   "print(platform.python_version())"]).strip()
        return version, freeze

    def _step(self, log: list[str], command: list[str], cwd: Path | None = None) -> str:
        env = dict(os.environ, UV_CACHE_DIR=str(self.root / "uv-cache"),
                   PIP_CACHE_DIR=str(self.root / "pip-cache"), PIP_DISABLE_PIP_VERSION_CHECK="1")
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                                  timeout=self.timeout, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise EnvironmentFailed(f"environment build timed out after {self.timeout:.0f}s: "
                                    f"{' '.join(command[:3])}", "".join(log)[-LOG_TAIL:]) from None
        log.append(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise EnvironmentFailed(f"`{Path(command[0]).name} {command[1]}` failed: "
                                    f"{failure_reason(done.stderr or done.stdout)}",
                                    "".join(log)[-LOG_TAIL:])
        return done.stdout


def failure_reason(output: str) -> str:
    """The line of an installer's output that says why it failed: its last `error` line
    (pip ends with hints such as "note: This error originates from a subprocess"), else
    its last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "× ", "x "))]
    return (errors or lines or [""])[-1]


def _read_ready(path: Path) -> dict | None:
    try:
        return json.loads((path / READY).read_text())
    except (OSError, ValueError):
        return None
