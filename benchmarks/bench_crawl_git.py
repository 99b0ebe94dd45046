"""PRs per second for `prsynth crawl git` against a plain one-diff-per-commit baseline.

Usage: python benchmarks/bench_crawl_git.py [--prs 3000] [--path CLONE --repo OWNER/NAME]

Without --path it builds a synthetic history with --prs merged PRs in a temporary
folder. Both runs mine the same PR commits in the same process; the baseline walks
them with GitPython and one `diff(create_patch=True)` call (one git process) per commit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prsynth.crawl.run import crawl_git  # noqa: E402
from prsynth.sources.local_git import LocalGitSource  # noqa: E402
from prsynth.store import Store  # noqa: E402
from tests.support.gitrepos import synthetic_history  # noqa: E402


def baseline(path: Path, repo: str) -> tuple[int, float]:
    """One GitPython diff call per PR commit, as a naive miner would do it."""
    source = LocalGitSource(path, repo)
    started = time.perf_counter()
    commits = source.pr_commits()
    count = 0
    for pr in commits:
        base = source.git_repo.commit(pr.base_sha)
        diffs = base.diff(pr.head_sha, create_patch=True)
        count += sum(1 for d in diffs if d.diff is not None)
    return len(commits), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prs", type=int, default=3000)
    parser.add_argument("--path", type=Path)
    parser.add_argument("--repo", default="bench/history")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.path
        if path is None:
            path = synthetic_history(Path(tmp) / "clone", args.prs)
        with Store(Path(tmp) / "bench.db") as store:
            started = time.perf_counter()
            report = crawl_git(store, path, args.repo, include_bots=True)
            ours = time.perf_counter() - started
        mined = report.new + sum(report.skipped.values())
        base_count, base_time = baseline(path, args.repo)
    ours_rate, base_rate = mined / ours, base_count / base_time
    print(f"prsynth crawl git : {mined} PRs in {ours:.2f} s = {ours_rate:,.0f} PRs/s (stored)")
    print(f"baseline (1 diff/commit): {base_count} PRs in {base_time:.2f} s"
          f" = {base_rate:,.0f} PRs/s (diff only, nothing stored)")
    print(f"ratio: {ours_rate / base_rate:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
