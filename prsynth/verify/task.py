"""Verify one task as SWE-bench does: at the base commit with the test patch the touched
tests run (some must fail), then with the code patch as well (those must pass and the
others still pass). FAIL_TO_PASS and PASS_TO_PASS keep SWE-bench's names and meaning.
See docs/architecture.md (verify)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prsynth.verify.environment import EnvironmentFailed
from prsynth.verify.runners import Runner, task_language
from prsynth.verify.tests_run import PASSED, TestRun
from prsynth.verify.workspace import (
    WorkspaceError,
    apply_patch,
    commit_date,
    reset_worktree,
    task_patches,
    worktree_at,
)

STATUSES = ("verified", "no_tests", "tests_pass_before", "tests_fail_after",
            "patch_does_not_apply", "env_failed", "timeout", "unsupported_language")


@dataclass
class Task:
    """What verification needs of a PR."""

    pr_id: str
    repo: str
    base_sha: str
    head_sha: str
    diff: str
    clone: Path


@dataclass
class Verification:
    """One task's result in one environment (a store row)."""

    pr_id: str
    environment: str
    status: str
    detail: str = ""
    fail_to_pass: list[str] = field(default_factory=list)
    pass_to_pass: list[str] = field(default_factory=list)
    test_command: str = ""
    python_version: str = ""
    requirements: list[str] = field(default_factory=list)
    env_key: str = ""
    env_cache_hit: bool = False
    durations: dict[str, float] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    timeout: float = 0.0  # seconds per test run it ran with

    def to_dict(self) -> dict:
        return asdict(self)


def classify(before: dict[str, str], after: dict[str, str]) -> tuple[str, str, list, list]:
    """(status, detail, FAIL_TO_PASS, PASS_TO_PASS) from the two runs' outcomes."""
    fail_to_pass = sorted(t for t, o in after.items() if o == PASSED and before.get(t) != PASSED)
    pass_to_pass = sorted(t for t, o in after.items() if o == PASSED and before.get(t) == PASSED)
    broken = sorted(t for t, o in before.items() if o == PASSED and after.get(t) != PASSED)
    failing_after = sorted(t for t, o in after.items() if o != PASSED and o != "skipped")
    if broken:
        return ("tests_fail_after", f"{len(broken)} test(s) passed before and fail after: "
                + ", ".join(broken[:3]), fail_to_pass, pass_to_pass)
    if not after:
        return "tests_fail_after", "no test ran with the change applied", [], []
    if not fail_to_pass:
        if failing_after:
            return ("tests_fail_after", f"{len(failing_after)} test(s) fail with the change: "
                    + ", ".join(failing_after[:3]), [], pass_to_pass)
        return ("tests_pass_before", "every touched test already passes at the base commit",
                [], pass_to_pass)
    return "verified", "", fail_to_pass, pass_to_pass


def verify_task(task: Task, runner: Runner, *, timeout: float, scratch: Path) -> Verification:
    """Run one task end to end; every outcome is a Verification, never an exception."""
    result = Verification(task.pr_id, runner.environment_id(), "verified", timeout=timeout)
    started = time.monotonic()
    try:
        _verify(task, runner, timeout, scratch, result)
    except WorkspaceError as exc:
        result.status, result.detail = exc.status, str(exc)
    except EnvironmentFailed as exc:
        result.status, result.detail = "env_failed", str(exc)
        result.environment = exc.environment or result.environment
        result.logs["environment"] = exc.log_tail
    result.durations["total"] = round(time.monotonic() - started, 2)
    return result


def _verify(task: Task, runner: Runner, timeout: float, scratch: Path,
            result: Verification) -> None:
    patches = task_patches(task.clone, task.diff, task.base_sha, task.head_sha)
    language = task_language([s.split(" b/", 1)[-1] for s in patches.code.split("\n")
                              if s.startswith("diff --git ")] + patches.test_files)
    if language and language not in runner.languages:
        result.status, result.detail = "unsupported_language", f"{language}: no runner yet"
        return
    if not patches.test_files:
        result.status = "no_tests"
        result.detail = "the PR touches no test file that pytest can run"
        return
    with worktree_at(task.clone, task.base_sha, scratch) as worktree:
        # The environment is built from the PR's dependency files (a PR may add one).
        apply_patch(worktree, patches.test, "test patch")
        apply_patch(worktree, patches.code, "code patch")
        env = runner.prepare(worktree, task.repo, commit_date(task.clone, task.base_sha))
        reset_worktree(worktree)
        result.environment = env.name or result.environment
        result.python_version, result.requirements = env.python_version, env.requirements
        result.env_key, result.env_cache_hit = env.key, env.cache_hit
        result.durations["environment"] = env.seconds
        if env.log_tail:
            result.logs["environment"] = env.log_tail
        apply_patch(worktree, patches.test, "test patch")
        before = _run(runner, env, worktree, patches.test_files, timeout, result, "before")
        if before is None:
            return
        apply_patch(worktree, patches.code, "code patch")
        after = _run(runner, env, worktree, patches.test_files, timeout, result, "after")
        if after is None:
            return
    status, detail, result.fail_to_pass, result.pass_to_pass = classify(
        before.outcomes, after.outcomes)
    result.status, result.detail = status, detail


def _run(runner: Runner, env, worktree: Path, files: list[str], timeout: float,
         result: Verification, phase: str) -> TestRun | None:
    present = [f for f in files if (worktree / f).is_file()]
    run = runner.run_tests(env, worktree, present, timeout) if present else TestRun()
    result.test_command = run.command or result.test_command
    result.durations[phase] = run.seconds
    result.logs[phase] = run.log_tail
    if run.timed_out:
        result.status = "timeout"
        result.detail = f"the tests {phase} the change ran past {timeout:g}s and were killed"
        return None
    return run
