"""Reading `git diff-tree --stdin -p --raw -z` output: one (files, diff) per PR.

The line counts come from the patch itself: `--numstat` would make git diff every file
a second time, which took a third of the crawl's git time on real histories
(docs/architecture.md, "Crawl speed"). A file git shows without hunks and without a
"Binary files" line (a pure rename, a mode change, an empty file) is binary when one of
its blobs is, judged as git judges it (a NUL in the first 8,000 bytes): the batch's
`binary_blobs` reads those few blobs with one `git cat-file --batch`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from prsynth.records import FileChange
from prsynth.text.diffs import line_starts, section_status

DIFF_TREE = ("git", "diff-tree", "--stdin", "-r", "-M", "-p", "--raw", "-z", "--full-index",
             "--no-color", "--no-ext-diff")
HEADER = re.compile(rb"\n([0-9a-f]{40})\x00")
NO_BLOB = "0" * 40
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # never binary
BLOB_MODES = frozenset({"100644", "100755", "120000"})
BINARY_CHECK_BYTES = 8000  # how much of a blob git looks at for a NUL (buffer_is_binary)

Read = tuple[list[FileChange], str]


@dataclass(frozen=True)
class RawEntry:
    """One `--raw -z` entry: the blobs on each side and the paths."""

    old_mode: str
    new_mode: str
    old_blob: str
    new_blob: str
    old: str
    new: str

    def blobs(self) -> list[str]:
        """The blobs whose content decides whether git calls the file binary."""
        pairs = ((self.old_mode, self.old_blob), (self.new_mode, self.new_blob))
        return [blob for mode, blob in pairs
                if mode in BLOB_MODES and blob not in (NO_BLOB, EMPTY_BLOB)]


def parse_diff_tree(out: bytes, heads: list[str],
                    binary_blobs: Callable[[list[str]], set[str]]) -> list[Read]:
    """Split the output into one result per head, in order; `binary_blobs(shas)` says
    which of the blobs of files without hunks hold binary content.

    A pair with no changes prints nothing, so records are matched to `heads` in order.
    """
    results: list[Read] = [([], "") for _ in heads]
    unsure: list[tuple[FileChange, RawEntry]] = []
    pos, index = 0, 0
    while pos < len(out) and index < len(heads):
        while index < len(heads) and not out.startswith(heads[index].encode() + b"\0", pos):
            index += 1
        if index == len(heads):
            break
        entries, pos = _raw_entries(out, pos + 41)
        end = _next_record(out, pos, set(heads[index + 1:]))
        results[index] = _files_and_diff(entries, out[pos:end], unsure)
        pos, index = end, index + 1
    wanted = list(dict.fromkeys(blob for _, entry in unsure for blob in entry.blobs()))
    binary = binary_blobs(wanted) if wanted else set()
    for change, entry in unsure:
        change.binary = change.binary or any(blob in binary for blob in entry.blobs())
    return results


def _raw_entries(out: bytes, pos: int) -> tuple[list[RawEntry], int]:
    """Read `:OLDMODE NEWMODE OLDSHA NEWSHA STATUS\\0PATH\\0[NEWPATH\\0]` entries up to the
    empty entry that separates them from the patch."""
    entries = []
    while out.startswith(b":", pos):
        end = out.index(b"\0", pos)
        old_mode, new_mode, old_blob, new_blob, status = out[pos + 1:end].decode().split(" ")
        pos = end + 1
        end = out.index(b"\0", pos)
        old = new = out[pos:end].decode("utf-8", "replace")
        pos = end + 1
        if status[:1] in ("R", "C"):  # a rename or copy names both paths
            end = out.index(b"\0", pos)
            new = out[pos:end].decode("utf-8", "replace")
            pos = end + 1
        entries.append(RawEntry(old_mode, new_mode, old_blob, new_blob, old, new))
    return entries, pos + 1 if out.startswith(b"\0", pos) else pos


def _next_record(out: bytes, pos: int, upcoming: set[str]) -> int:
    """Where the next record's "SHA\\0" header starts (it follows the patch's last newline)."""
    for match in HEADER.finditer(out, pos - 1):
        if match.group(1).decode() in upcoming:
            return match.start() + 1
    return len(out)


def line_counts(section: bytes) -> tuple[int, int] | None:
    """(added, removed) lines of one file's section, as `--numstat` counts them; None
    when it has no hunk."""
    at = section.find(b"\n@@")
    if at < 0:
        return None
    return section.count(b"\n+", at), section.count(b"\n-", at)


def _files_and_diff(entries: list[RawEntry], patch: bytes,
                    unsure: list[tuple[FileChange, RawEntry]]) -> Read:
    """The files and the diff text of one record; files without hunks whose binary-ness
    depends on their blobs go on `unsure`."""
    starts = line_starts(patch, b"diff --git ")
    sections = [patch[start:end] for start, end in zip(starts, [*starts[1:], len(patch)],
                                                          strict=True)]
    files, texts = [], []
    for entry, raw in zip(entries, sections, strict=False):
        counts = line_counts(raw)
        binary = counts is None and b"\nBinary files " in raw
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            binary = True
            text = _binary_section(raw, entry.old, entry.new)
        added, removed = (0, 0) if binary or counts is None else counts
        change = FileChange(
            path=entry.new, status=section_status(text), additions=added, deletions=removed,
            previous_path=entry.old if entry.old != entry.new else "", binary=binary,
        )
        if counts is None and not binary and entry.blobs():
            unsure.append((change, entry))
        files.append(change)
        texts.append(text)
    return files, "".join(texts)


def _binary_section(raw: bytes, old: str, new: str) -> str:
    """A text that is not UTF-8 is kept as git shows a binary file: named, without lines."""
    header = raw.split(b"\n--- ", 1)[0].split(b"\n@@", 1)[0]
    header_text = header.decode("utf-8", "replace").rstrip("\n")
    return f"{header_text}\nBinary files a/{old} and b/{new} differ\n"


def binary_in_batch(out: bytes) -> set[str]:
    """The blobs of `git cat-file --batch` output that git calls binary (a NUL in their
    first `BINARY_CHECK_BYTES`)."""
    found = set()
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        sha, kind, *size = out[pos:end].decode().split(" ")
        pos = end + 1
        if kind == "missing" or not size:
            continue
        length = int(size[0])
        if b"\0" in out[pos:pos + min(length, BINARY_CHECK_BYTES)]:
            found.add(sha)
        pos += length + 1
    return found
