"""How much of the solution a request gives away: the PR's new identifiers it names and
the added lines it pastes. Stored with each query for the scorer."""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
DIFF_META = ("diff --git", "index ", "--- ", "+++ ", "@@", "new file mode", "deleted file mode",
             "similarity index", "rename from", "rename to", "Binary files", "\\ No newline")
MIN_PASTED_LINE = 20


def is_distinctive(name: str) -> bool:
    """Looks like a code identifier, not a word: snake_case, camelCase or has digits."""
    core = name.strip("_")
    if re.search(r"[A-Za-z0-9]_[A-Za-z0-9]", core):
        return True
    if re.search(r"[a-z]", core) and re.search(r"[A-Z]", core[1:]):
        return True
    return bool(re.search(r"[0-9]", core) and re.search(r"[A-Za-z]{2}", core))


def introduced_identifiers(diff: str, known_text: str = "") -> set[str]:
    """Distinctive identifiers that appear only on the diff's added lines.

    Names in `known_text` (the PR's title, description and issues) are left out: they
    describe the problem the developer reports, not the solution.
    """
    added: set[str] = set()
    elsewhere: set[str] = set()
    for line in diff.splitlines():
        if line.startswith(DIFF_META):
            continue
        names = {n for n in IDENTIFIER.findall(line[1:]) if is_distinctive(n)}
        (added if line.startswith("+") else elsewhere).update(names)
    known = set(IDENTIFIER.findall(known_text))
    return added - elsewhere - known


def solution_leakage(query: str, diff: str, known_text: str = "") -> tuple[float, list[str]]:
    """(share in [0, 1], what leaked): the larger of the share of introduced identifiers
    the query names and the share of substantial added lines it pastes verbatim."""
    introduced = introduced_identifiers(diff, known_text)
    named = sorted(introduced & set(IDENTIFIER.findall(query)))
    lines = {
        line[1:].strip() for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++ ")
        and len(line[1:].strip()) >= MIN_PASTED_LINE
    }
    pasted = sorted(line for line in lines if line in query)
    shares = [len(named) / len(introduced) if introduced else 0.0,
              len(pasted) / len(lines) if lines else 0.0]
    return round(max(shares), 4), named + pasted
