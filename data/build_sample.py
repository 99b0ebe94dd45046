"""Build data/sample_prs.jsonl: real merged PRs mined from three public git histories.

The histories are the git bundles in ../shared/repos (pallets/jinja, tiangolo/typer,
sindresorhus/ky; see data/README.md for their licenses). Each bundle is cloned into a
temporary folder with its `refs/pull/*`, mined with the same code `prsynth crawl git`
uses, and the newest PRs of each repository are written unfiltered (release and bump
PRs included), so the demo shows the task filters at work. A PR is kept only when its
number has a `refs/pull/N/head` in the bundle, i.e. GitHub knew it as a pull request.

Deterministic: the same bundles give the same bytes.

    python data/build_sample.py [--bundles DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prsynth.sources.local_git import LocalGitSource  # noqa: E402

OUT = Path(__file__).resolve().parent / "sample_prs.jsonl"
DEFAULT_BUNDLES = ROOT.parent / "shared" / "repos"
MAX_DIFF_BYTES = 40_000
REPOS = (
    # bundle stem, OWNER/NAME, newest PRs taken, language, description (as on GitHub).
    # jinja's recent history is mostly bot and release PRs, so it gives more.
    ("pallets+jinja", "pallets/jinja", 220, "Python",
     "A very fast and expressive template engine."),
    ("tiangolo+typer", "tiangolo/typer", 150, "Python",
     "Typer, build great CLIs. Easy to code. Based on Python type hints."),
    ("sindresorhus+ky", "sindresorhus/ky", 110, "TypeScript",
     "Tiny & elegant JavaScript HTTP client based on the Fetch API"),
)


def clone(bundle: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bundle), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "fetch", "-q", str(bundle),
                    "refs/pull/*:refs/pull/*"], check=True)
    return into


def pull_numbers(clone_dir: Path) -> set[int]:
    out = subprocess.run(["git", "-C", str(clone_dir), "for-each-ref", "--format=%(refname)",
                          "refs/pull/"], check=True, capture_output=True, text=True).stdout
    return {int(ref.split("/")[2]) for ref in out.split() if ref.endswith("/head")}


def mine(bundle: Path, repo: str, language: str, description: str, per_repo: int,
         work: Path) -> list[dict]:
    clone_dir = clone(bundle, work / repo.replace("/", "+"))
    known = pull_numbers(clone_dir)
    source = LocalGitSource(clone_dir, repo, max_diff_bytes=MAX_DIFF_BYTES)
    commits = [c for c in source.pr_commits() if c.number in known]
    commits.sort(key=lambda c: (c.merged_at, c.number), reverse=True)
    wanted = {c.number for c in commits[:per_repo]}
    records = []
    every = {f"{repo}#{c.number}" for c in source.pr_commits()}
    for pr in source.pull_requests(skip=every - {f"{repo}#{n}" for n in wanted}):
        pr.repo_language, pr.repo_description = language, description
        records.append(pr.to_dict())
    records.sort(key=lambda r: r["number"], reverse=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=Path, default=DEFAULT_BUNDLES)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for stem, repo, count, language, description in REPOS:
            bundle = args.bundles / f"{stem}.bundle"
            if not bundle.is_file():
                sys.exit(f"bundle {bundle} not found; pass the folder with --bundles")
            for record in mine(bundle, repo, language, description, count, Path(tmp)):
                lines.append(json.dumps(record, ensure_ascii=False, sort_keys=False))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} PRs to {OUT}")


if __name__ == "__main__":
    main()
