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
