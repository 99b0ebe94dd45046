"""Plain domain records shared by every stage; their field names are the export contract."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from prsynth.errors import ConfigError

REPO_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
BOT_LOGINS = frozenset(
    {"dependabot", "dependabot-preview", "renovate", "renovate-bot", "pre-commit-ci",
     "github-actions", "greenkeeper", "snyk-bot", "mergify", "allcontributors", "imgbot"}
)


def check_repo_name(name: str) -> str:
    """Return `name` if it has the OWNER/NAME form GitHub uses, else raise ConfigError."""
    if not REPO_NAME.match(name or "") or name.endswith((".git", "/")) or ".." in name:
        raise ConfigError(f"repository {name!r} is not of the form OWNER/NAME (e.g. pallets/click)")
    return name


# PR branches that automation opens: `dependabot/pip/tox-3.20.0`, `renovate/major-eslint`,
# `pre-commit-ci-update-config`, `snyk-fix-...`, `imgbot`, `all-contributors/...`.
BOT_BRANCH = re.compile(
    r"(?i)^(?:dependabot|renovate|greenkeeper|whitesource|snyk-|imgbot|"
    r"all-contributors/|pre-commit-ci-|update-pre-commit|pyup-|depfu/|mergify/)"
)


def is_bot_branch(branch: str) -> bool:
    """True for the head branch names bots push their PRs from."""
    return bool(BOT_BRANCH.match((branch or "").strip()))


def is_bot(author: str) -> bool:
    """True for app accounts (`x[bot]`) and well-known automation accounts."""
    login = (author or "").strip().lower()
    if login.endswith("[bot]") or login.endswith("-bot") or login.endswith("_bot"):
        return True
    return login in BOT_LOGINS


@dataclass
class FileChange:
    path: str
    status: str  # added | modified | removed | renamed
    additions: int = 0
    deletions: int = 0
    previous_path: str = ""
    binary: bool = False  # no text patch: binary, not UTF-8, or too large for the API


@dataclass
class PullRequest:
    """One merged pull request, keyed by `owner/name#N`."""

    repo: str
    number: int
    title: str
    body: str = ""
    author: str = ""
    author_is_bot: bool = False
    merged_at: str = ""
    base_sha: str = ""
    head_sha: str = ""
    merge_sha: str = ""
    additions: int = 0
    deletions: int = 0
    files: list[FileChange] = field(default_factory=list)
    diff: str = ""
    diff_truncated: bool = False
    linked_issues: list[dict[str, Any]] = field(default_factory=list)
    license: str = ""
    source: str = ""
    url: str = ""
    stars: int = 0
    repo_description: str = ""
    repo_language: str = ""

    def __post_init__(self) -> None:
        if not self.url:
            self.url = f"https://github.com/{self.repo}/pull/{self.number}"

    @property
    def id(self) -> str:
        return f"{self.repo}#{self.number}"

    def __hash__(self) -> int:
        return hash(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The export record: `id` first, then every field of the PR record
        (docs/architecture.md, "Records")."""
        record = {"id": self.id}
        record.update(asdict(self))
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> PullRequest:
        """Build from an export record; unknown keys are ignored, missing ones default."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in names}
        file_names = {f.name for f in fields(FileChange)}
        values["files"] = [
            FileChange(**{k: v for k, v in f.items() if k in file_names})
            for f in record.get("files") or []
        ]
        return cls(**values)


@dataclass(frozen=True)
class Unreadable:
    """A PR a source found but could not read (missing git objects, ...): the crawl
    records it as dropped with `reason` and goes on."""

    id: str
    repo: str
    reason: str


@dataclass
class Query:
    """One synthesized request for one PR; `fields` holds the template-defined extras."""

    id: str
    pr_id: str
    query: str
    prompt: str  # template name@version
    model: str
    created_at: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The export record: the fixed fields, then the template-defined ones."""
        record = {k: v for k, v in asdict(self).items() if k != "fields"}
        for key, value in self.fields.items():
            record.setdefault(key, value)
        return record


@dataclass
class Selected:
    """One chosen query with what makes it checkout-able and verifiable, like a SWE-bench
    instance (PR, base commit, code patch, test patch), and why it was chosen."""

    rank: int
    query_id: str
    query: str
    pr_id: str
    repo: str
    pr_url: str
    base_sha: str
    patch: str  # code part of the PR diff
    test_patch: str  # test part of the PR diff
    cluster: int | None
    cluster_label: str
    quality: float
    why: dict[str, Any] = field(default_factory=dict)
    task_type: str = ""
    difficulty: str = ""
    # after `prsynth verify` (None / empty before): SWE-bench's names for the test lists
    verified: bool | None = None
    verify_status: str = ""
    fail_to_pass: list[str] = field(default_factory=list)
    pass_to_pass: list[str] = field(default_factory=list)
    test_command: str = ""
    environment: dict[str, Any] = field(
        default_factory=lambda: {"name": "", "python": "", "requirements": []})
    # The PR's own words and facts (title and body without secrets or personal data).
    title: str = ""
    body: str = ""
    linked_issues: list[dict[str, Any]] = field(default_factory=list)
    language: str = ""
    license: str = ""
    merged_at: str = ""
    modified_files: list[str] = field(default_factory=list)  # code files the patch changes
    test_files: list[str] = field(default_factory=list)
    test_names: list[str] = field(default_factory=list)  # tests the test patch adds or changes
    prompt: str = ""  # template name@version that wrote the request
    model: str = ""
    judge_score: int | None = None  # LLM judge rating 1-10, when judged
    judge_reason: str = ""
    score_breakdown: dict[str, float] = field(default_factory=dict)  # feature → value

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["FAIL_TO_PASS"] = record.pop("fail_to_pass")
        record["PASS_TO_PASS"] = record.pop("pass_to_pass")
        return record
