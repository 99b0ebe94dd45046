"""Unified diffs: the one place that parses, trims, splits and normalizes them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

FILE_HEADER = re.compile(r"^diff --git ", re.MULTILINE)
HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@.*$", re.MULTILINE)
TEST_PATH = re.compile(
    r"(^|/)(tests?|testsuite|__tests__|spec|specs|testing|test_?data|fixtures)(/|$)"
    r"|(^|/)test_[^/]+$|_test\.[a-z]+$|\.test\.[a-z]+$|\.spec\.[a-z]+$"
    # CamelCase FooTest.java / BarTests.cs: the T is case-sensitive, so contest.py,
    # latest.md and requirements-tests.txt are not tests.
    r"|(^|/)[A-Za-z0-9_]*[a-z0-9](?-i:Tests?)\.(?!(?:txt|md|rst|json|ya?ml|toml|cfg|ini)$)[a-z]+$"
    r"|(^|/)conftest\.py$",
    re.IGNORECASE,
)
LOCKFILE = re.compile(
    r"(^|/)(package-lock\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|Pipfile\.lock|uv\.lock|"
    r"Cargo\.lock|go\.sum|Gemfile\.lock|composer\.lock|gradle\.lockfile|flake\.lock|"
    r"requirements[^/]*\.lock)$"
)
GENERATED = re.compile(
    r"(^|/)(vendor|third_party|node_modules|dist|build|generated|__generated__)/"
    r"|\.min\.(js|css)$|_pb2\.py$|\.pb\.go$|\.snap$|(^|/)CHANGELOG[^/]*$",
    re.IGNORECASE,
)


@dataclass
class FileDiff:
    """One file's section of a unified diff (header lines included)."""

    path: str
    text: str

    @property
    def is_test(self) -> bool:
        return is_test_path(self.path)


def is_test_path(path: str) -> bool:
    return bool(TEST_PATH.search(path))


def is_lockfile(path: str) -> bool:
    return bool(LOCKFILE.search(path))


def is_generated(path: str) -> bool:
    return bool(GENERATED.search(path))


def file_kind(path: str) -> str:
    """lockfile | generated | test | code: how informative a changed file is, by its path."""
    if is_lockfile(path):
        return "lockfile"
    if is_generated(path):
        return "generated"
    return "test" if is_test_path(path) else "code"


def file_diffs(diff: str) -> list[FileDiff]:
    """Split a unified diff into per-file sections, in order."""
    starts = [m.start() for m in FILE_HEADER.finditer(diff)]
    sections = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(diff)
        text = diff[start:end]
        sections.append(FileDiff(_section_path(text), text))
    return sections


def _section_path(section: str) -> str:
    new_path = old_path = ""
    for line in section.splitlines()[:8]:
        if line.startswith("+++ "):
            new_path = _strip_prefix(line[4:])
        elif line.startswith("--- "):
            old_path = _strip_prefix(line[4:])
        elif line.startswith("rename to "):
            new_path = line[len("rename to "):]
    if new_path and new_path != "/dev/null":
        return new_path
    if old_path and old_path != "/dev/null":
        return old_path
    # Binary or mode-only sections have no ---/+++ lines: read "diff --git a/X b/X".
    header = section.split("\n", 1)[0][len("diff --git "):].rstrip("\r")
    half = len(header) // 2
    if header and header[half] == " ":
        return _strip_prefix(header[half + 1:])
    return _strip_prefix(header)


def _strip_prefix(path: str) -> str:
    path = path.split("\t", 1)[0].strip()
    if path.startswith('"') and path.endswith('"'):
        path = path[1:-1]
    return path[2:] if path[:2] in ("a/", "b/") else path


def section_status(section: str) -> str:
    """added | removed | renamed | modified, read from a file section's header lines."""
    header = section.split("\n@@", 1)[0]
    if "\nnew file mode" in header:
        return "added"
    if "\ndeleted file mode" in header:
        return "removed"
    if "\nrename from " in header:
        return "renamed"
    return "modified"


CARRIAGE_RETURNS = re.compile(r"\r+\n")
BINARY_PATCH = re.compile(r"(?m)^GIT binary patch$")


def clean_diff(diff: str) -> str:
    """`diff` as text the rest of prsynth can rely on: no NUL bytes, no carriage-return
    line ends, `GIT binary patch` payloads replaced by git's one-line binary note, and
    no blank lines trailing the last hunk."""
    if not diff:
        return ""
    text = CARRIAGE_RETURNS.sub("\n", diff.replace("\x00", ""))
    if "GIT binary patch" in text:
        text = _drop_binary_patches(text)
    return text.rstrip("\r\n") + "\n" if text.strip() else ""


def _drop_binary_patches(diff: str) -> str:
    sections = []
    for section in re.split(r"(?m)^(?=diff --git )", diff):
        binary = BINARY_PATCH.search(section)
        if binary and section.startswith("diff --git "):
            head = section[:binary.start()].rstrip("\n")
            path = _section_path(section)
            section = f"{head}\nBinary files a/{path} and b/{path} differ\n"
        sections.append(section)
    return "".join(sections)


def truncate_diff(diff: str, max_bytes: int) -> tuple[str, bool]:
    """Keep whole files, then whole hunks, until `max_bytes` of UTF-8; say if anything was cut."""
    if max_bytes <= 0 or len(diff.encode("utf-8")) <= max_bytes:
        return diff, False
    kept: list[str] = []
    used = 0
    for section in file_diffs(diff):
        size = len(section.text.encode("utf-8"))
        if used + size <= max_bytes:
            kept.append(section.text)
            used += size
            continue
        partial = leading_hunks(section.text, max_bytes - used)
        if partial:
            kept.append(partial)
        break
    return "".join(kept), True


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def leading_hunks(section: str, budget: float,
                  size: Callable[[str], float] = utf8_size) -> str:
    """The file header and as many whole leading hunks as fit in `budget`, measured by
    `size` (UTF-8 bytes unless told otherwise, e.g. a prompt's token count)."""
    hunks = [m.start() for m in HUNK_HEADER.finditer(section)]
    if not hunks:
        return ""
    best = ""
    for end in hunks[1:] + [len(section)]:
        candidate = section[:end]
        if size(candidate) > budget:
            break
        best = candidate
    return best


def split_patch(diff: str) -> tuple[str, str]:
    """Split a PR diff into (code part, test part), like a SWE-bench instance."""
    code, tests = [], []
    for section in file_diffs(diff):
        (tests if section.is_test else code).append(section.text)
    return "".join(code), "".join(tests)


def added_lines(diff: str) -> list[str]:
    """Lines a diff adds (without the leading '+'), file headers excluded."""
    return [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++ ")
    ]


def removed_lines(diff: str) -> list[str]:
    return [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("--- ")
    ]


def normalized_diff_hash(diff: str) -> str:
    """A hash of what a diff changes, blind to line numbers, index lines and whitespace.

    Two PRs that carry the same change (a backport, a cherry-pick) hash alike even when
    the hunks land at other line numbers.
    """
    parts = []
    for section in sorted(file_diffs(diff), key=lambda s: s.path):
        parts.append("F " + section.path)
        for line in section.text.splitlines():
            if line.startswith(("+", "-")) and not line.startswith(("+++ ", "--- ")):
                parts.append(line[0] + " ".join(line[1:].split()))
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest() if parts else ""


SOURCE_SUFFIXES = frozenset({
    ".py", ".pyi", ".pyx", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".go",
    ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".java", ".kt", ".kts", ".rb", ".php", ".cs",
    ".swift", ".scala", ".m", ".sh", ".lua", ".ex", ".exs", ".erl", ".hs", ".ml", ".clj",
    ".dart", ".vue", ".svelte", ".r", ".jl", ".zig", ".sql",
})
CHANGELOG = re.compile(r"(?i)(^|/)(CHANGE(S|LOG)|HISTORY|NEWS|RELEASE[_-]?NOTES)[^/]*$")
CI_PATH = re.compile(
    r"(?i)(^|/)(\.github|\.circleci|\.gitlab|\.azure-pipelines|\.buildkite|\.devcontainer)/"
    r"|(^|/)(\.travis\.yml|appveyor\.yml|azure-pipelines\.yml|\.gitlab-ci\.yml|tox\.ini|"
    r"noxfile\.py|\.pre-commit-config\.yaml|\.readthedocs\.ya?ml|codecov\.ya?ml|\.coveragerc|"
    r"Makefile|Dockerfile|compose\.ya?ml|docker-compose\.ya?ml)$"
)
PACKAGING_PATH = re.compile(
    r"(?i)(^|/)(setup\.py|setup\.cfg|pyproject\.toml|MANIFEST\.in|package\.json|"
    r"tsconfig[^/]*\.json|requirements[^/]*\.(txt|in)|Pipfile|Cargo\.toml|go\.mod|Gemfile|"
    r"[^/]+\.gemspec|\.npmrc|\.nvmrc|\.editorconfig|\.gitignore|\.gitattributes|\.mailmap|"
    r"LICEN[CS]E[^/]*|CITATION[^/]*|CODE_OF_CONDUCT[^/]*|CONTRIBUTING[^/]*|SECURITY[^/]*|"
    r"FUNDING[^/]*)$|(^|/)requirements/"
)
DEPENDENCY_PATH = re.compile(
    r"(?i)(^|/)(requirements[^/]*\.(txt|in)|requirements/[^/]+|Pipfile|pyproject\.toml|"
    r"setup\.cfg|package\.json|Cargo\.toml|go\.mod|Gemfile|\.pre-commit-config\.yaml)$"
)
DOCS_PATH = re.compile(r"(?i)(^|/)(docs?|documentation|docs_src|site|website)/|(^|/)readme[^/]*$")
DOCS_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".ipynb", ".html", ".css", ".svg",
                           ".png", ".jpg", ".jpeg", ".gif", ".ico", ".webp"})


def path_kind(path: str) -> str:
    """What a changed file is, for task filters and prompts: code | test | docs | changelog |
    ci | packaging | lockfile | generated | other."""
    suffix = PurePosixPath(path).suffix.lower()
    if is_lockfile(path):
        return "lockfile"
    if CHANGELOG.search(path):
        return "changelog"
    if is_generated(path):
        return "generated"
    if CI_PATH.search(path):
        return "ci"
    if PACKAGING_PATH.search(path):
        return "packaging"
    if DOCS_PATH.search(path) or suffix in DOCS_SUFFIXES:
        return "docs"
    if suffix in SOURCE_SUFFIXES:
        return "test" if is_test_path(path) else "code"
    return "other"


def is_dependency_manifest(path: str) -> bool:
    return bool(DEPENDENCY_PATH.search(path)) or is_lockfile(path)


def whitespace_only(diff: str) -> bool:
    """True when every file's removed and added lines are the same once whitespace is gone
    (a reformatting pass), and the diff changes something."""
    sections = file_diffs(diff)
    if not sections:
        return False
    for section in sections:
        removed = sorted("".join(line.split()) for line in removed_lines(section.text))
        added = sorted("".join(line.split()) for line in added_lines(section.text))
        if removed != added:
            return False
    return any(removed_lines(section.text) for section in sections)


# A test definition on a diff line: pytest/unittest `def test_x`, JS/TS `test("name"`,
# `it("name"`, Go `func TestX`, Rust `fn x` under #[test] is left out (needs context).
TEST_DEFINITION = re.compile(
    r"^\s*(?:async\s+)?def\s+(test\w*)\s*\(|^\s*(?:test|it)(?:\.\w+)?\(\s*(['\"`])(.+?)\2"
    r"|^\s*func\s+(Test\w+)\s*\("
)
HUNK_TEST = re.compile(r"^@@[^@]*@@\s*(?:async\s+)?(?:def\s+(test\w*)|func\s+(Test\w+))")


def test_names(test_patch: str) -> list[str]:
    """Tests the test patch adds or changes, as `path::name` (candidates for FAIL_TO_PASS):
    definitions on added lines, and the enclosing test of a hunk that changes one."""
    found: list[str] = []
    for section in file_diffs(test_patch):
        names: list[str] = []
        for line in section.text.splitlines():
            if line.startswith("+") and not line.startswith("+++ "):
                match = TEST_DEFINITION.match(line[1:])
                if match:
                    names.append(match.group(1) or match.group(3) or match.group(4))
            elif line.startswith("@@"):
                hunk = HUNK_TEST.match(line)
                if hunk:
                    names.append(hunk.group(1) or hunk.group(2))
        for name in dict.fromkeys(names):
            found.append(f"{section.path}::{name}")
    return found
