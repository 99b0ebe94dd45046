"""Static verifiability: does a PR's test patch exercise what its code patch changes?

Name matching is enough to tell a test patch that calls the changed function from one
that tests something else (docs/architecture.md, "Quality score"): the symbols the code
patch defines or edits (enclosing definitions from hunk headers, definitions on changed
lines) and the changed modules' names are looked for as words in the test patch.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from prsynth.text.diffs import file_diffs, path_kind

DEFINITION = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:def|class|function\*?|func|fn|interface|"
    r"type|struct|enum|const|let|var)\s+([A-Za-z_$][\w$]*)"
    r"|^\s*(?:(?:public|private|protected|static|readonly|async|get|set)\s+)*"
    r"([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\([^)]*\)\s*(?::[^{=]+)?\{\s*$"
)
HUNK_CONTEXT = re.compile(r"^@@[^@]*@@\s*(.*)$")
# Names too common to link a test to a change.
GENERIC = frozenset({
    "init", "main", "test", "tests", "index", "utils", "util", "helpers", "types", "core",
    "self", "this", "constructor", "default", "options", "value", "name", "data", "result",
    "args", "kwargs", "config", "setup", "__init__", "const", "function", "return", "async",
    "await", "class", "type", "from", "import", "export", "none", "true", "false", "null",
})
WORD = re.compile(r"[A-Za-z_$][\w$]*")


def changed_symbols(code_patch: str) -> set[str]:
    """Functions, classes and constants the code patch defines or edits, by name (from
    hunk headers, changed lines and the definitions a hunk shows around them)."""
    names: set[str] = set()
    for section in file_diffs(code_patch):
        if path_kind(section.path) != "code":
            continue
        for line in section.text.splitlines():
            if line.startswith("@@"):
                context = HUNK_CONTEXT.match(line)
                text = context.group(1) if context else ""
            elif line[:1] in "+- " and not line.startswith(("+++ ", "--- ")):
                text = line[1:]  # changed lines, and the definitions around them
            else:
                continue
            match = DEFINITION.match(text)
            if match:
                names.add(match.group(1) or match.group(2))
    return {n for n in names if len(n) >= 4 and n.lower() not in GENERIC}


def changed_modules(code_patch: str) -> set[str]:
    """The changed code files' module names (`src/jinja2/loaders.py` → `loaders`)."""
    stems = set()
    for section in file_diffs(code_patch):
        if path_kind(section.path) == "code":
            stem = PurePosixPath(section.path).stem
            if stem == "__init__":
                stem = PurePosixPath(section.path).parent.name
            if len(stem) >= 3 and stem.lower() not in GENERIC:
                stems.add(stem)
    return stems


def static_verifiability(code_patch: str, test_patch: str) -> tuple[float, list[str]]:
    """(value in [0, 1], the names that link them): 1 when the test patch names a changed
    symbol, 0.6 when it names only a changed module (or its test file is named after
    one), 0.3 for a test patch that names neither, 0 without a test patch."""
    if not test_patch.strip():
        return 0.0, []
    words = set(WORD.findall(test_patch))
    lowered = {w.lower() for w in words}
    symbols = sorted(s for s in changed_symbols(code_patch) if s in words)
    if symbols:
        return 1.0, symbols
    paths = " ".join(section.path.lower() for section in file_diffs(test_patch))
    modules = sorted(m for m in changed_modules(code_patch)
                     if m.lower() in lowered or m.lower().rstrip("s") in paths)
    if modules:
        return 0.6, modules
    return 0.3, []
