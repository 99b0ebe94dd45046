"""Hypothesis strategies and the properties they are held to, shared by the CI tests
(tests/test_properties.py, few examples) and the benchmark (benchmarks/bench_hardening.py,
10,000+ examples each)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from prsynth.records import PullRequest
from prsynth.sources.dumps import BadLine, read_records
from prsynth.store.prs import pr_row
from prsynth.text import diffs
from prsynth.text.redact import redact
from tests.support.secretcorpus import planted

DIFF_LINES = [
    "diff --git a/x.py b/x.py", "diff --git ", "diff --git a/ b/", 'diff --git "a/q x" "b/q x"',
    "--- a/x.py", "+++ b/x.py", "--- /dev/null", "+++ /dev/null", "--- ", "+++ ",
    "@@ -1,3 +1,3 @@", "@@ -0,0 +1 @@ def f():", "@@ -1 +1 @@", "", "+", "-", " ", "+added",
    "-removed", " context", "\x00", "+a\x00b", "GIT binary patch", "literal 12", "delta 4",
    "zcmV+abc", "Binary files a/x and b/x differ", "new file mode 100644",
    "deleted file mode 100644", "rename from a.py", "rename to b.py",
    "\\ No newline at end of file", "index 83db48f..bf269f4 100644", "\r", "+\r",
]

diff_texts = st.lists(st.sampled_from(DIFF_LINES) | st.text(max_size=12), max_size=30).map(
    "\n".join) | st.text(max_size=200)


def check_diff(text: str, budget: int) -> None:
    """Every diff function answers for any text; cleaning is idempotent and drops NULs."""
    clean = diffs.clean_diff(text)
    assert diffs.clean_diff(clean) == clean and "\x00" not in clean
    for diff in (text, clean):
        sections = diffs.file_diffs(diff)
        assert "".join(s.text for s in sections) in diff
        for section in sections:
            diffs.section_status(section.text)
        kept, cut = diffs.truncate_diff(diff, budget)
        assert cut or kept == diff
        diffs.split_patch(diff)
        diffs.added_lines(diff)
        diffs.removed_lines(diff)
        assert len(diffs.normalized_diff_hash(diff)) in (0, 64)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)
PR_KEYS = ["id", "repo", "number", "title", "body", "author", "author_is_bot", "merged_at",
           "additions", "deletions", "files", "diff", "diff_truncated", "linked_issues",
           "license", "stars", "instance_id", "base_commit", "patch", "test_patch",
           "problem_statement", "created_at"]
GOOD_VALUES = {"repo": st.just("acme/app"), "number": st.integers(1, 10**6),
               "title": st.text(max_size=30), "merged_at": st.just("2024-05-01T10:00:00Z"),
               "diff": diff_texts, "files": st.just([{"path": "a.py", "status": "modified"}])}


@st.composite
def record_lines(draw) -> bytes:
    """A JSONL line: a mostly well-formed record with some fields of any JSON type, or
    bytes that are not JSON at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=60))
    record = {}
    for key in draw(st.lists(st.sampled_from(PR_KEYS), max_size=8)):
        record[key] = draw(JSON_VALUES)
    if kind > 3:
        for key, strategy in GOOD_VALUES.items():
            if draw(st.booleans()) or key in ("repo", "number", "title"):
                record[key] = draw(strategy)
    value = record if kind != 1 else draw(JSON_VALUES)
    return json.dumps(value).encode("utf-8")


def check_import(lines: list[bytes]) -> tuple[int, int]:
    """One answer per non-blank line, in order; every PR read can become a store row."""
    expected = [n for n, line in enumerate(lines, start=1) if line.strip()]
    answers = list(read_records(line.replace(b"\n", b" ") + b"\n" for line in lines))
    numbers = [a.line if isinstance(a, BadLine) else a[0] for a in answers]
    assert numbers == expected
    good = 0
    for answer in answers:
        if isinstance(answer, BadLine):
            assert answer.reason and "\n" not in answer.reason
            continue
        pr = answer[1]
        assert isinstance(pr, PullRequest) and isinstance(pr.title, str)
        pr_row(pr)
        good += 1
    return good, len(answers) - good


PLANTED = planted(seed=1, copies=2)
prose = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
redact_inputs = st.tuples(prose, st.sampled_from(PLANTED), prose)


def check_redaction(before: str, case: tuple[str, str, str], after: str) -> None:
    """A planted secret never survives, whatever surrounds it; redaction is idempotent."""
    _, text, secret = case
    once = redact(f"{before} {text} {after}")
    assert secret not in once.replace(before, "").replace(after, "") or secret in before + after
    assert redact(once) == once
