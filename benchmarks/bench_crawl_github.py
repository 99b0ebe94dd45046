"""API requests per PR and PRs/s for `prsynth crawl github`, against a local GitHub server.

Usage: python benchmarks/bench_crawl_github.py [--repos 1] [--prs 1000] [--latency 0]

Serves --repos repositories of --prs closed PRs each (tests/github_server.py): 90 %
merged, 2 % by bots, 1 to 12 files per PR (1 % with 120-180 files, i.e. two files
pages), 20 % closing an issue. Runs, in one process:

1. a first crawl (requests per listed PR and per stored PR; closing-issue fetches are
   counted apart, as the issue's target excludes them),
2. an unchanged re-crawl,
3. a re-crawl after 1 % of the PRs changed,
4. a naive PyGithub crawl of the same repositories: `repo.get_pulls()` with the default
   page size, then per PR `pr.merged`, `pr.additions` (lazy single-PR fetch) and
   `pr.get_files()`, and `repo.get_issue(n)` per closing reference. It stores nothing.

Both clients run with PyGithub's 0.25 s pause between requests switched off, so the
comparison is of request counts and client work, not of that throttle. --latency adds
that many seconds to every answer, like a real network would.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from github import Github  # noqa: E402

from prsynth.crawl.run import crawl_github  # noqa: E402
from prsynth.sources.github.client import GitHubClient  # noqa: E402
from prsynth.sources.github.reader import CLOSING  # noqa: E402
from prsynth.store import Store  # noqa: E402
from tests.support.github_server import GitHubServer, binary_file, text_file  # noqa: E402


def serve(server: GitHubServer, repos: list[str], prs: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    for name in repos:
        server.add_repo(name, stars=rng.randint(0, 5000))
        for number in range(1, prs + 1):
            count = rng.randint(120, 180) if rng.random() < 0.01 else rng.randint(1, 12)
            files = [text_file(f"src/m{number}_{i}.py", lines=rng.randint(1, 40))
                     for i in range(count)]
            if rng.random() < 0.05:
                files.append(binary_file(f"img/{number}.png"))
            body = f"Fixes #{number + prs}" if rng.random() < 0.2 else "A change."
            if body.startswith("Fixes"):
                server.add_issue(name, number + prs, f"Issue {number + prs}", "Broken.")
            author = "dependabot[bot]" if rng.random() < 0.02 else f"dev{rng.randint(1, 40)}"
            server.add_pull(name, number, body=body, author=author,
                            merged=rng.random() < 0.9, files=files)


def measured(server: GitHubServer, run) -> tuple[float, int, int, object]:
    """(seconds, API requests, of which issue fetches, run's result)."""
    before = len(server.log)
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    log = server.log[before:]
    return seconds, len(log), sum(1 for r in log if "/issues/" in r.path), result


def naive(api_url: str, repos: list[str]) -> int:
    """PyGithub's lazy objects used the obvious way; returns merged PRs read."""
    gh = Github(base_url=api_url, retry=None, seconds_between_requests=None)
    read = 0
    for name in repos:
        repo = gh.get_repo(name)
        _ = (repo.license, repo.stargazers_count)
        for pr in repo.get_pulls(state="closed", sort="updated", direction="desc"):
            if not pr.merged:
                continue
            _ = (pr.additions, pr.deletions, pr.merge_commit_sha)
            _ = "".join(f.patch or "" for f in pr.get_files())
            for match in CLOSING.finditer(pr.body or ""):
                issue = repo.get_issue(int(match.group("number")))
                _ = (issue.title, issue.body)
            read += 1
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=1)
    parser.add_argument("--prs", type=int, default=1000, help="PRs per repository")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args()
    repos = [f"bench/repo{i}" for i in range(args.repos)]
    listed = args.repos * args.prs
    with GitHubServer() as server, tempfile.TemporaryDirectory() as tmp:
        serve(server, repos, args.prs)
        server.delay = args.latency
        client = GitHubClient(server.api_url)
        with Store(Path(tmp) / "bench.db") as store:
            def crawl():
                return crawl_github(store, repos, client=client)

            secs, total, issues, reports = measured(server, crawl)
            stored = sum(r.new for r in reports)
            print(f"first crawl   : {listed} PRs listed, {stored} stored, {total} requests"
                  f" ({issues} closing-issue fetches) in {secs:.2f} s")
            print(f"  requests/PR without issue fetches: {(total - issues) / listed:.3f} per"
                  f" listed PR, {(total - issues) / stored:.3f} per stored PR;"
                  f" with them: {total / stored:.3f} per stored PR")
            ours_rate = stored / secs

            secs, total, _, _ = measured(server, crawl)
            codes = sorted({r.status for r in server.log[-total:]})
            print(f"unchanged run : {total} requests = {total / listed:.4f} per PR"
                  f" (answers {codes}) in {secs:.3f} s")

            rng = random.Random(1)
            for name in repos:
                for number in rng.sample(range(1, args.prs + 1), max(1, args.prs // 100)):
                    server.touch_pull(name, number, title=f"Edited {number}")
            secs, total, issues, reports = measured(server, crawl)
            print(f"1 % changed   : {sum(r.updated + r.new for r in reports)} re-stored,"
                  f" {total} requests ({issues} issue fetches, 304s included)"
                  f" = {total / listed:.4f} per PR")

        secs, total, issues, read = measured(server, lambda: naive(server.api_url, repos))
        base_rate = read / secs
        print(f"naive PyGithub: {read} merged PRs read, {total} requests"
              f" = {(total - issues) / listed:.3f} per listed PR without issue fetches,"
              f" in {secs:.2f} s")
    print(f"PRs/s: prsynth {ours_rate:,.0f} (stored) vs naive {base_rate:,.0f} (nothing stored)"
          f" = {ours_rate / base_rate:.2f}x")


if __name__ == "__main__":
    main()
