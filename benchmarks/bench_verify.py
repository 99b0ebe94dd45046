"""`prsynth verify` over real PRs: the shared bundles' Python PRs merged in the last three
years that carry a test patch, as `crawl git` stores them (default filters).

Usage: python benchmarks/bench_verify.py [--repos DIR] [--since 2023-11-29] [--jobs 1]
       [--cache DIR] [--limit N] [--runner venv|docker] [--docker-image PATTERN]
       [--docker-build-network NET]

Prints the share verified, the share by status, the time per task with a warm
environment cache (every task after its repository's environment was built) and the
environment cache hit rate. Needs PyPI to build environments the first time; a second
run with the same --cache measures a fully warm cache. Clones the bundles (see
../shared/repos/README.md) into a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prsynth.config import Config  # noqa: E402
from prsynth.crawl.run import crawl_git  # noqa: E402
from prsynth.stages.verify import VerifyOptions, verify  # noqa: E402
from prsynth.store import Store  # noqa: E402
from prsynth.text.diffs import file_diffs, split_patch  # noqa: E402

BUNDLES = {"pallets/jinja": "pallets+jinja.bundle", "tiangolo/typer": "tiangolo+typer.bundle"}


def clone_bundle(bundle: Path, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bundle), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "fetch", "-q", str(bundle),
                    "refs/pull/*:refs/pull/*"], check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repos", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "repos")
    since = (dt.date.today() - dt.timedelta(days=3 * 365)).isoformat()
    parser.add_argument("--since", default=since)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--runner", default="venv", choices=["venv", "docker"])
    parser.add_argument("--docker-image", default="python:{version}-slim")
    parser.add_argument("--docker-build-network", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config()
        config.verify.cache_dir = str(args.cache or Path(tmp) / "cache")
        config.verify.docker_image = args.docker_image
        config.verify.docker_build_network = args.docker_build_network
        ids = []
        with Store(Path(tmp) / "bench.db") as store:
            for repo, bundle in BUNDLES.items():
                clone = clone_bundle(args.repos / bundle, Path(tmp) / repo.split("/")[1])
                crawl_git(store, clone, repo, since=args.since, max_diff_bytes=10**8)
                for pr in store.iter_prs(repo):
                    _, tests = split_patch(pr.diff)
                    if any(s.path.endswith(".py") for s in file_diffs(tests)):
                        ids.append(pr.id)
            ids = ids[:args.limit] if args.limit else ids
            started = time.perf_counter()
            report = verify(store, config, VerifyOptions(pr_ids=ids, jobs=args.jobs,
                                                               runner=args.runner))
            took = time.perf_counter() - started
    total = len(report.results)
    print(f"tasks: {total} Python PRs with a test patch merged since {args.since} "
          f"({took:.0f} s, --jobs {args.jobs}, {report.environment})")
    for status, count in report.statuses.most_common():
        print(f"  {status:22} {count:3}  {count / total:6.1%}")
    print(f"verified: {report.statuses['verified'] / total:.1%} (target >= 60%)")
    warm = sorted((r.durations["total"], r.pr_id) for r in report.results if r.env_cache_hit)
    if warm:
        times = [t for t, _ in warm]
        under = sum(1 for t in times if t < 60)
        print(f"warm-cache task: median {statistics.median(times):.1f} s, max {max(times):.1f} s"
              f" over {len(warm)} tasks; {under} of them under 60 s (target < 60 s)")
        print("  slowest: " + ", ".join(f"{pr} {t:.0f} s" for t, pr in warm[-3:]))
    lookups = report.env_cache_hits + report.env_cache_misses
    if lookups:
        print(f"environment cache: {report.env_cache_hits}/{lookups} hits = "
              f"{report.env_cache_hits / lookups:.0%}")
    for result in report.results:
        if result.status != "verified":
            print(f"  {result.pr_id}: {result.status}: {result.detail[:100]}")


if __name__ == "__main__":
    main()
