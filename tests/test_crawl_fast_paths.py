"""The crawl's fast paths change nothing: each gives what its plain definition gives."""

import random
import re

from prsynth.text.diffs import (
    _first_lines,
    line_starts,
    whitespace_only,
    whitespace_only_by_lines,
)


def diffs(count: int, seed: int = 3) -> list[str]:
    """Diff-like texts: reformatting passes, real changes, header look-alikes ("--- x" as
    a removed line), other line ends (\\r, \\x85, \\u2028), text before the first file."""
    rnd = random.Random(seed)
    words = ["x = 1", "x=1", "  y(z)", "y( z )", "-- a", "++ b", "", "def f():"]
    ends = ["\n"] * 12 + ["\r", "\x85", "\u2028", "\x0c"]
    out = []
    for _ in range(count):
        parts = [rnd.choice(["", "junk\n", "-lead\n"])]
        for number in range(rnd.randint(0, 3)):
            parts.append(f"diff --git a/f{number} b/f{number}\n--- a/f{number}\n+++ b/f{number}\n"
                         "@@ -1,2 +1,2 @@\n")
            lines = [rnd.choice(words) for _ in range(rnd.randint(0, 4))]
            for line in lines:
                parts.append("-" + line + rnd.choice(ends))
            for line in (lines if rnd.random() < 0.6 else lines[1:]):
                spaced = line.replace(" ", "") if rnd.random() < 0.5 else " " + line
                parts.append("+" + spaced + rnd.choice(ends))
        out.append("".join(parts))
    return out


def test_whitespace_only_fast_reject_agrees_with_its_definition():
    texts = diffs(4000)
    verdicts = [whitespace_only(text) for text in texts]
    assert verdicts == [whitespace_only_by_lines(text) for text in texts]
    assert 0 < sum(verdicts) < len(texts)  # both answers occur


def test_line_starts_and_first_lines_agree_with_regex_and_splitlines():
    rnd = random.Random(4)
    pieces = ["diff --git a/x b/x", "\n", "\r\n", "\r", "\x85", "x", "diff --git", " "]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 20)))
        expected = [m.start() for m in re.finditer(r"(?m)^diff --git ", text)]
        assert line_starts(text, "diff --git ") == expected
        if text.isascii():
            assert line_starts(text.encode(), b"diff --git ") == expected
        assert _first_lines(text, 8) == text.splitlines()[:8]
