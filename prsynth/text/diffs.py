"""Unified diffs: the one place that parses, trims, splits and normalizes them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

FILE_HEADER = re.compile(r"^diff --git ", re.MULTILINE)
HUNK_HEADER = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@.*$", re.MULTILINE)
TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|specs|testing|test_?data|fixtures)(/|$)"
    r"|(^|/)test_[^/]+$|_test\.[a-z]+$|\.test\.[a-z]+$|\.spec\.[a-z]+$|(^|/)[^/]+Tests?\.[a-z]+$"
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


def leading_hunks(section: str, budget: int) -> str:
    """The file header and as many whole leading hunks as fit in `budget` UTF-8 bytes."""
    hunks = [m.start() for m in HUNK_HEADER.finditer(section)]
    if not hunks:
        return ""
    best = ""
    for end in hunks[1:] + [len(section)]:
        candidate = section[:end]
        if len(candidate.encode("utf-8")) > budget:
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
