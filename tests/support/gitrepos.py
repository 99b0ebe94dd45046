"""Build small real git repositories with GitHub-shaped PR history for tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class GitRepoBuilder:
    """A real repository in `path`; every commit gets a fixed, increasing timestamp."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        self.clock = 1_700_000_000
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, author: str = "Dev") -> str:
        self.clock += 60
        stamp = f"@{self.clock} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
               "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@example.com",
               "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        done = subprocess.run(["git", *args], cwd=self.path, env=env, check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                self.git("rm", "-q", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
            self.git("add", name)

    def commit(
        self, files: dict[str, str | bytes | None], message: str, author: str = "Dev"
    ) -> str:
        self.write(files)
        self.git("commit", "-q", "--allow-empty", "-m", message, author=author)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def merge_pr(self, number: int, user: str, branch: str, title: str, body: str,
                 files: dict[str, str | bytes | None], into: str = "main") -> str:
        """A GitHub merge-button merge: topic branch, then --no-ff merge with its message."""
        self.git("checkout", "-q", "-b", branch, into)
        self.commit(files, title, author=user)
        self.git("checkout", "-q", into)
        message = f"Merge pull request #{number} from {user}/{branch}\n\n{title}\n\n{body}".strip()
        self.git("merge", "-q", "--no-ff", branch, "-m", message)
        return self.head()

    def squash_pr(self, number: int, author: str, title: str, body: str,
                  files: dict[str, str | bytes | None]) -> str:
        """A GitHub squash merge: one commit on the current branch titled "Title (#N)"."""
        return self.commit(files, f"{title} (#{number})\n\n{body}".strip(), author=author)


def synthetic_history(path: Path, prs: int, *, seed: int = 0, files: int = 60) -> Path:
    """A real repository with `prs` merged PRs, written in one `git fast-import` run.

    Two of every three PRs are merge-button merges ("Merge pull request #N from ..."),
    branched one or two commits behind main so the merge base is not the first parent;
    the rest are squash merges "Title (#N)". Every tenth PR is by dependabot[bot].
    """
    import random

    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    contents = {
        f"src/module_{i:03d}.py": [f"def function_{i}_{j}(x):\n    return x + {j}\n"
                                   for j in range(12)]
        for i in range(files)
    }
    stream: list[bytes] = []
    clock = 1_600_000_000
    mark = 0
    history: list[int] = []  # marks of main's commits, oldest first

    def blob_lines(name: str) -> list[bytes]:
        data = "".join(contents[name]).encode()
        return [f"M 100644 inline {name}\n".encode(), f"data {len(data)}\n".encode(), data, b"\n"]

    def commit(ref: str, message: str, author: str, parents: list[int], changed: list[str]) -> int:
        nonlocal mark, clock
        mark += 1
        clock += 600
        msg = message.encode()
        stream.extend([
            f"commit {ref}\nmark :{mark}\n".encode(),
            f"author {author} <{author}@example.com> {clock} +0000\n".encode(),
            f"committer GitHub <noreply@github.com> {clock} +0000\n".encode(),
            f"data {len(msg)}\n".encode(), msg, b"\n",
        ])
        if parents:
            stream.append(f"from :{parents[0]}\n".encode())
        for extra in parents[1:]:
            stream.append(f"merge :{extra}\n".encode())
        for name in changed:
            stream.extend(blob_lines(name))
        stream.append(b"\n")
        return mark

    history.append(commit("refs/heads/main", "Initial commit", "founder", [], list(contents)))
    for number in range(1, prs + 1):
        author = "dependabot[bot]" if number % 10 == 0 else f"dev{rng.randrange(40)}"
        changed = rng.sample(sorted(contents), rng.randint(1, 3))
        for name in changed:
            lines = contents[name]
            at = rng.randrange(len(lines))
            lines[at] = f"def function_changed_{number}_{at}(x):\n    return x * {number}\n"
            if rng.random() < 0.3:
                lines.insert(at, f"# note from PR {number}\n")
        title = f"Change {', '.join(n.rsplit('/', 1)[1] for n in changed)} for case {number}"
        if number % 3:
            base = history[-1 - rng.randint(0, min(2, len(history) - 1))]
            branch = f"refs/heads/topic-{number}"
            topic = commit(branch, title, author, [base], changed)
            stream.append(f"reset {branch}\nfrom 0000000000000000000000000000000000000000\n\n"
                          .encode())
            message = f"Merge pull request #{number} from {author}/topic-{number}\n\n{title}"
            history.append(commit("refs/heads/main", message, "GitHub", [history[-1], topic],
                                  changed))
        else:
            history.append(commit("refs/heads/main", f"{title} (#{number})\n\nDetails.", author,
                                  [history[-1]], changed))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream),
                   check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)
    return path
