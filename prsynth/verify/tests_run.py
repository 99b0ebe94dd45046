"""Run pytest on chosen test files in a prepared environment and read the outcome of each
test from its JUnit XML; the run sits in its own process group (without network where
the OS allows) and is killed whole on timeout. See docs/architecture.md (verify)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL = 4000
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class TestRun:
    """One pytest run: each test id's outcome, the command, its duration and log tail."""

    outcomes: dict[str, str] = field(default_factory=dict)
    command: str = ""
    seconds: float = 0.0
    log_tail: str = ""
    timed_out: bool = False
    returncode: int = 0


def network_isolation() -> list[str]:
    """The command prefix that cuts a test run off the network, or [] where the OS won't.

    `unshare -n` needs root (or user namespaces); it is tried once and remembered.
    """
    global _ISOLATION
    if _ISOLATION is None:
        _ISOLATION = []
        tool = shutil.which("unshare")
        if tool:
            probe = subprocess.run([tool, "-n", "true"], capture_output=True)
            if probe.returncode == 0:
                _ISOLATION = [tool, "-n"]
    return list(_ISOLATION)


_ISOLATION: list[str] | None = None


def pytest_command(python: str, test_files: list[str], junit: str) -> list[str]:
    return [
        python, "-m", "pytest", "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
        "-o", "addopts=", "--junitxml", junit, "-q", *test_files,
    ]


Wrap = Callable[[list[str], dict[str, str]], list[str]]


def run_pytest(
    python: str, worktree: Path, test_files: list[str], *, timeout: float,
    env: dict[str, str] | None = None, wrap: Wrap | None = None,
    on_timeout: Callable[[], None] | None = None,
) -> TestRun:
    """Run `test_files` (paths inside `worktree`) with the environment's python.

    `wrap(command, variables)` turns the pytest command and the variables prsynth sets
    into the command to start instead (the docker runner's `docker run`); without it the
    run is cut off the network where the OS allows. `on_timeout` runs before the process
    group is killed (to kill what it started elsewhere, such as a container)."""
    with tempfile.TemporaryDirectory(prefix="junit-", dir=worktree.parent) as scratch:
        junit = str(Path(scratch) / "junit.xml")
        command = pytest_command(python, test_files, junit)
        shown = " ".join(pytest_command("python", test_files, "junit.xml"))
        variables = run_variables(worktree, env)
        argv = wrap(command, variables) if wrap else network_isolation() + command
        started = time.monotonic()
        log_path = Path(scratch) / "log.txt"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                argv, cwd=worktree, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(_host_env(), **variables), start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            timed_out = False
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                if on_timeout:
                    on_timeout()
                _kill_group(proc)
        text = log_path.read_text("utf-8", "replace")
        outcomes = read_junit(junit) if Path(junit).exists() else {}
        return TestRun(
            outcomes=outcomes, command=shown, seconds=round(time.monotonic() - started, 2),
            log_tail=text[-LOG_TAIL:], timed_out=timed_out, returncode=proc.returncode,
        )


def _die_with_parent() -> None:
    """Linux: the test run gets SIGKILL when prsynth dies (kill -9 leaves no orphan)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_variables(worktree: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The variables prsynth sets for a test run: the worktree's code shadows the copy
    installed in the cached environment; HOME is an empty folder beside the checkout, so
    tests that write dotfiles leave yours alone."""
    paths = [str(worktree / "src")] if (worktree / "src").is_dir() else []
    home = worktree.parent / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join([*paths, str(worktree)]),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_ADDOPTS": "", "NO_COLOR": "1",
        **(extra or {}),
    }


def _host_env() -> dict[str, str]:
    """This process's environment without its secrets."""
    return {k: v for k, v in os.environ.items() if not _secret(k)}


def _secret(name: str) -> bool:
    return any(word in name.upper() for word in ("TOKEN", "KEY", "SECRET", "PASSWORD"))


def read_junit(path: str) -> dict[str, str]:
    """Test id ("tests/test_x.py::Class::test") -> passed | failed | skipped."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return {}
    outcomes = {}
    for case in root.iter("testcase"):
        test_id = _test_id(case)
        if not test_id:
            continue
        if case.find("skipped") is not None:
            outcome = SKIPPED
        elif case.find("failure") is not None or case.find("error") is not None:
            outcome = FAILED
        else:
            outcome = PASSED
        # a teardown error adds a second entry for a passed test: failure wins
        if outcomes.get(test_id) != FAILED:
            outcomes[test_id] = outcome
    return outcomes


def _test_id(case: ET.Element) -> str:
    """SWE-bench style ids: file path, then the classes below the module, then the name."""
    file = case.get("file", "")
    classname = case.get("classname", "")
    name = case.get("name", "")
    if not file:
        return f"{classname}::{name}" if classname else name
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    inner = classname[len(module):].lstrip(".") if classname.startswith(module) else ""
    return "::".join(part for part in (file, *inner.split("."), name) if part)
