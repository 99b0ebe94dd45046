"""Where a task's code comes from: the local clone `crawl git` read (its path is in the
store) or, for PRs crawled from GitHub, a clone in the cache folder made on demand; and
a throw-away worktree at the PR's base commit with the test and code patches applied.
See docs/architecture.md (verify)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prsynth.text.diffs import file_diffs, is_test_path


class WorkspaceError(Exception):
    """The task's commits or patches are not usable; `status` says which verify status."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Patches:
    """A PR's change split like a SWE-bench instance, and the test files to run."""

    code: str
    test: str
    test_files: list[str]


def git(clone: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(clone), *args], input=stdin, capture_output=True, text=True,
        env=dict(os.environ, GIT_TERMINAL_PROMPT="0"),
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done.stdout


def has_commit(clone: Path, sha: str) -> bool:
    try:
        git(clone, "cat-file", "-e", f"{sha}^{{commit}}")
        return True
    except subprocess.CalledProcessError:
        return False


def commit_date(clone: Path, sha: str) -> str:
    """The committer date of `sha`, ISO 8601."""
    return git(clone, "show", "-s", "--format=%cI", sha).strip()


def cached_clone(cache: Path, repo: str, url_template: str, number: int) -> Path:
    """A clone of `repo` in the cache folder, fetched with the PR's head ref when missing."""
    path = cache / "clones" / repo.replace("/", "+")
    url = url_template.format(repo=repo)
    if not (path / ".git").exists() and not (path / "HEAD").exists():
        partial = path.with_name(path.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        done = subprocess.run(["git", "clone", "-q", "--bare", url, str(partial)],
                              capture_output=True, text=True,
                              env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise WorkspaceError("env_failed", f"cannot clone {url}: "
                                 f"{done.stderr.strip().splitlines()[-1:]}")
        partial.rename(path)
    try:
        git(path, "fetch", "-q", url, f"+refs/pull/{number}/head:refs/pull/{number}/head")
    except subprocess.CalledProcessError:
        pass  # the base and merge commits may be enough
    return path


def task_patches(clone: Path, pr_diff: str, base_sha: str, head_sha: str) -> Patches:
    """The code and test patches: from git when both commits are in the clone (never
    truncated), else from the stored diff."""
    diff = pr_diff
    if head_sha and has_commit(clone, head_sha) and has_commit(clone, base_sha):
        diff = git(clone, "diff", "--binary", "--no-color", "--no-ext-diff",
                   base_sha, head_sha)
    code, test, test_files = [], [], []
    for section in file_diffs(diff):
        if is_test_path(section.path):
            test.append(section.text)
            if _runnable_test(section.path) and "\ndeleted file mode" not in section.text:
                test_files.append(section.path)
        else:
            code.append(section.text)
    return Patches("".join(code), "".join(test), test_files)


def _runnable_test(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


@contextmanager
def worktree_at(clone: Path, sha: str, scratch: Path) -> Iterator[Path]:
    """A checkout of `clone` at `sha` under `scratch`, removed afterwards. It is a
    `--shared` clone (objects read from the original), so the original is not written."""
    if not has_commit(clone, sha):
        raise WorkspaceError("patch_does_not_apply",
                             f"base commit {sha[:12]} is not in the clone {clone}")
    scratch.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix=f"wt-{os.getpid()}-", dir=scratch))
    path = holder / "src"
    try:
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(clone),
                        str(path)], check=True, capture_output=True)
        git(path, "checkout", "-q", "--detach", sha)
        yield path
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def remove_stale_worktrees(scratch: Path) -> None:
    """Worktrees left behind by a killed run (their process is gone)."""
    for path in scratch.glob("wt-*-*") if scratch.is_dir() else []:
        pid = path.name.split("-")[1]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reset_worktree(worktree: Path) -> None:
    """Back to the base commit: patched files restored, added files removed."""
    git(worktree, "reset", "-q", "--hard")
    git(worktree, "clean", "-qfdx")


def apply_patch(worktree: Path, patch: str, what: str) -> None:
    if not patch.strip():
        return
    try:
        git(worktree, "apply", "--whitespace=nowarn", "--binary", "-", stdin=patch)
    except subprocess.CalledProcessError as exc:
        first = (exc.stderr.strip().splitlines() or [""])[0]
        raise WorkspaceError("patch_does_not_apply",
                             f"the {what} does not apply: {first}") from None
