"""The verify stage: prove the selected (or every candidate) task executable by running
its tests before and after the change, and store one row per task and environment.
Re-runs redo only missing or stale rows; each task is committed on its own, so a killed
run loses at most the tasks in flight. See docs/architecture.md (verify)."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prsynth.config import Config
from prsynth.errors import ConfigError, MissingStageError
from prsynth.progress import Progress, quiet
from prsynth.store import Store, fingerprint
from prsynth.text.diffs import normalized_diff_hash
from prsynth.verify.environment import EnvironmentCache
from prsynth.verify.runners import make_runner
from prsynth.verify.task import Task, Verification, verify_task
from prsynth.verify.workspace import WorkspaceError, cached_clone, remove_stale_worktrees

VERIFY_VERSION = "1"


@dataclass
class Tally:
    """Tasks finished so far in this run: verified, and every other status."""

    verified: int = 0
    failed: int = 0

    def line(self) -> str:
        return f"{self.verified} verified, {self.failed} failed"


@dataclass
class VerifyOptions:
    candidates: bool = False
    limit: int = 0
    jobs: int = 0  # 0: [verify] jobs
    timeout: float = 0.0  # 0: [verify] timeout
    runner: str = ""  # "": [verify] runner
    pr_ids: list[str] | None = None  # exactly these PRs (benchmarks, tests)


@dataclass
class VerifyReport:
    environment: str = ""
    tasks: int = 0
    skipped_fresh: int = 0
    retried_timeouts: int = 0
    statuses: Counter = field(default_factory=Counter)
    network_isolated: bool = False
    isolation: str = ""  # how tests were cut off the network
    env_cache_hits: int = 0
    env_cache_misses: int = 0
    results: list[Verification] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment, "tasks": self.tasks,
            "skipped_fresh": self.skipped_fresh, "retried_timeouts": self.retried_timeouts,
            "statuses": dict(self.statuses), "network_isolated": self.network_isolated,
            "env_cache_hits": self.env_cache_hits, "env_cache_misses": self.env_cache_misses,
        }

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.statuses.most_common()) or "nothing new"
        network = (f"tests ran without network ({self.isolation})" if self.network_isolated
                   else "tests ran WITH network: `unshare -n` does not work here (needs root "
                   "or user namespaces)")
        retried = (f" ({self.retried_timeouts} timed out before with a smaller --timeout)"
                   if self.retried_timeouts else "")
        return (f"verify ({self.environment}): {self.tasks} task(s) run{retried}, {counts}; "
                f"{self.skipped_fresh} already verified and fresh; {network}")


def cache_dir(config: Config) -> Path:
    if config.verify.cache_dir:
        return Path(config.verify.cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "prsynth" / "verify"


def task_fingerprint(pr: Any, environment: str) -> str:
    return fingerprint(VERIFY_VERSION, environment, pr.base_sha, pr.head_sha,
                       normalized_diff_hash(pr.diff))


def verify(store: Store, config: Config, options: VerifyOptions,
           progress: Progress = quiet) -> VerifyReport:
    """Verify the tasks `options` names; results go to the store one task at a time.
    Progress counts tasks; its step reads "N verified, M failed"."""
    jobs = options.jobs or config.verify.jobs
    timeout = options.timeout or config.verify.timeout
    if jobs < 1 or timeout <= 0:
        raise ConfigError("--jobs and --timeout must be positive")
    root = cache_dir(config)
    envs = EnvironmentCache(root, config.verify.python)
    runner = make_runner(options.runner or config.verify.runner, envs, config.verify.docker_image,
                         config.verify.docker_build_network)
    isolation = runner.isolation()
    report = VerifyReport(environment=runner.environment_id(),
                          network_isolated=bool(isolation), isolation=isolation)
    known = store.verification_states(report.environment)
    todo = []
    for pr_id in _task_ids(store, options):
        pr = store.get_pr(pr_id)
        if pr is None:
            continue
        fresh, status, ran_with = known.get(pr_id, ("", "", 0.0))
        if fresh != task_fingerprint(pr, report.environment):
            todo.append(pr)
        elif status == "timeout" and ran_with < timeout:  # 0: not recorded, retried
            todo.append(pr)
            report.retried_timeouts += 1
        else:
            report.skipped_fresh += 1
    if options.limit:
        todo = todo[:options.limit]
    remove_stale_worktrees(root / "worktrees")
    report.tasks = len(todo)
    tally = Tally()
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(_verify_one, store_clone(store, config, root, pr), pr,
                               runner, timeout, root): pr for pr in todo}
        for future in as_completed(futures):
            pr = futures[future]
            result = future.result()
            store.put_verification(result.to_dict(),
                                   task_fingerprint(pr, report.environment))
            report.statuses[result.status] += 1
            report.results.append(result)
            tally.verified += result.status == "verified"
            tally.failed += result.status != "verified"
            progress(tally.line(), len(report.results), len(todo))
    finally:  # Ctrl-C: tasks not started are dropped; those in flight end or time out
        pool.shutdown(wait=True, cancel_futures=True)
    report.env_cache_hits, report.env_cache_misses = runner.cache_stats()
    return report


def store_clone(store: Store, config: Config, root: Path, pr: Any) -> Path | WorkspaceError:
    """The local clone `crawl git` read, else a clone in the cache (fetched on demand)."""
    path = store.clone_path(pr.repo)
    if path and Path(path).exists():
        return Path(path)
    try:
        return cached_clone(root, pr.repo, config.verify.clone_url, pr.number)
    except WorkspaceError as exc:
        return exc


def _verify_one(clone: Path | WorkspaceError, pr: Any, runner: Any, timeout: float,
                root: Path) -> Verification:
    if isinstance(clone, WorkspaceError):
        return Verification(pr.id, runner.environment_id(), clone.status, str(clone),
                            timeout=timeout)
    task = Task(pr.id, pr.repo, pr.base_sha, pr.head_sha, pr.diff, clone)
    return verify_task(task, runner, timeout=timeout, scratch=root / "worktrees")


def _task_ids(store: Store, options: VerifyOptions) -> list[str]:
    if options.pr_ids is not None:
        return list(options.pr_ids)
    if options.candidates:
        return store.candidate_pr_ids()
    selection = store.latest_selection()
    if selection is None:
        raise MissingStageError("nothing selected yet; run `prsynth select` first or pass "
                                "--candidates to verify every candidate")
    ids = []
    for item in store.selection_items(selection["id"]):
        query = store.get_query(item["query_id"])
        if query is not None and query.pr_id not in ids:
            ids.append(query.pr_id)
    return ids
