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


# A title that states how, not what: "cache the chunk index", "use a dict for lookups".
# The approach verb leads the title (after an emoji or "scope:"), or follows "by"/"via".
APPROACH = re.compile(
    r"(?i)(?:^[\W_]*(?:[\w./-]+:\s+)?|\b(?:by|via)\s+)(?:cache|caching|memoi[sz]e|use|using|"
    r"switch(?:ed)? to|replace[sd]?|refactor|vectori[sz]e|precompute|lazy|lazily|inline|"
    r"extract|reuse|batch|stream|convert|rewrite|rewrote|parallel\w*|debounce|throttle|move|"
    r"store|wrap|delegate|defer)\b"
)
STOPWORDS = frozenset(
    "a an the of to in on for with and or by from into via as at is be it its this that "
    "when instead".split()
)


def approach_leakage(query: str, title: str) -> tuple[float, list[str]]:
    """(share in [0, 1], words): when the PR title states the solution ("cache the chunk
    index"), the share of the title's approach words, from the approach verb on, that
    the request repeats. 0 for titles that state a problem or a goal."""
    match = APPROACH.search(title or "")
    if not match:
        return 0.0, []
    words = [w.lower() for w in re.findall(r"[A-Za-z_][\w.]*", title[match.start():])]
    approach = sorted({w for w in words if w not in STOPWORDS and len(w) >= 3})
    if not approach:
        return 0.0, []
    said = {w.lower() for w in re.findall(r"[A-Za-z_][\w.]*", query)}
    leaked = [w for w in approach if w in said]
    return round(len(leaked) / len(approach), 4), leaked
