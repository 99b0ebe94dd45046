"""The offline baseline: a deterministic request (and rating) built from the PR text alone.

No model is involved. It is what demos and tests use without a server, and it is
labelled `offline-baseline` wherever its output goes; it is not LLM quality, but it is
a fair floor (docs/architecture.md, "Offline baseline"):

- a PR that closes an issue is asked for in the issue's own words;
- otherwise the title is turned into a goal or a symptom ("Fix X dropping Y" becomes
  "X keeps dropping Y"), never copied whole;
- it names code (the most-changed source file, the function a hunk sits in), never a
  changelog or a docs page, when the change is to code;
- its length follows the size of the change;
- its constraints come from the PR's own files, so no sentence is stock.

It reads the title, body, linked issues, changed paths and the diff's hunk headers
(existing function names), never the diff's added code, so it does not hand over the
solution; and it skips any line of PR text that reads like an instruction to a model.
"""

from __future__ import annotations

import random
import re
from pathlib import PurePosixPath
from typing import Any

from prsynth.llm.personas import pick_variation
from prsynth.llm.wording import clean_title, goal_statement, lower_first, upper_first
from prsynth.text.diffs import file_diffs, path_kind
from prsynth.text.injection import is_instruction

# Sentences about the PR itself, not the problem: a request written before it cannot say them.
SELF_REFERENCE = re.compile(
    r"(?i)#\d+|https?://|\bbackport|\bthis (?:pr|pull request|change|patch|commit|writes|fix)\b"
    r"|\[email\]|\[REDACTED|\b(?:i|we) (?:have )?(?:added|changed|updated|implemented|moved|"
    r"refactored|made|replaced|removed|fixed)\b|\bimplementation\b|\bdiscussed\b|\bticket\b"
    r"|\bhas been (?:updated|added|changed)\b|\bthe (?:related|linked) issue\b"
    r"|\bI (?:did|have|'ve|also|just)\b|\badmittedly\b|\bthis (?:is|was) (?:my|a) first\b"
)
BUILD_PATH = re.compile(
    r"(?i)(^|/)(\.github|\.circleci|\.gitlab|ci)/|\.ya?ml$|(^|/)(Dockerfile|Makefile|"
    r"CMakeLists\.txt|setup\.cfg|pyproject\.toml|package\.json|Cargo\.toml|go\.mod|"
    r"[^/]+\.gemspec|build\.gradle(\.kts)?|\.pre-commit-config\.yaml)$"
)
HUNK_FUNCTION = re.compile(
    r"(?m)^@@[^@]*@@\s*(?:.*?\b(?:def|class|function|func|fn|interface|struct|impl|type)\s+"
    r"([A-Za-z_$][\w$]*)|\s*(?:(?:export|async|public|private|protected|static|readonly)\s+)*"
    r"([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\()"
)
NOT_FUNCTIONS = frozenset({"if", "for", "while", "return", "switch", "catch", "with", "elif",
                           "function", "super", "constructor", "test", "it", "describe"})
CODE_EXT = {".py": "Python", ".rs": "Rust", ".ts": "TypeScript", ".tsx": "TypeScript",
            ".js": "JavaScript", ".go": "Go", ".c": "C", ".h": "C", ".kt": "Kotlin",
            ".rb": "Ruby", ".java": "Java", ".cpp": "C++", ".cs": "C#", ".swift": "Swift"}
TASK_WORDS = [
    ("performance", r"\b(speed|faster|slow|perf|performance|cache|caching|latency|quadratic|"
                    r"linear scan|index makes|memory)\b"),
    ("refactor", r"\b(clean ?up|refactor|rename|simplif|no behaviou?r change|extract|tidy|"
                 r"unify|reorganize|move)\w*"),
    ("bugfix", r"\b(fix|handle|crash|bug|error|wrong|broken|clamp|off by one|boundary|empty "
               r"input|regression|fail|escape|accept|reject|invalid|panic|leak|hang)\w*"),
    ("feature", r"\b(add|support|option|configurable|allow|new|introduce|enable|flag)\w*"),
]


def body_sentences(text: str, limit: int = 4) -> list[str]:
    """Prose sentences of a PR or issue body: no headings, lists, code, links or instructions."""
    text = re.sub(r"```.*?(```|$)", " ", text or "", flags=re.DOTALL)
    text = re.sub(r"<!--.*?(-->|$)", " ", text, flags=re.DOTALL)
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if (not stripped or stripped.startswith(("#", "-", "*", ">", "|", "<!--"))
                or re.match(r"^\d+[.)]\s", stripped) or is_instruction(stripped)
                or re.match(r"(?i)^(fixes|closes|resolves|refs?|see|co-authored|signed-off)\b",
                            stripped)
                or re.match(r"(?i)^(docs only|seen on version)", stripped)):
            continue
        kept.append(stripped)
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(kept))
    return [s for s in sentences if len(s.split()) >= 4 and not SELF_REFERENCE.search(s)][:limit]


def steps_to_reproduce(text: str) -> list[str]:
    steps = re.findall(r"(?m)^\s*\d+[.)]\s+(.+)$", text or "")
    return [s.strip() for s in steps if not is_instruction(s)][:4]


def task_type(context: dict[str, Any]) -> str:
    files = [f["path"] for f in context.get("files", [])]
    kinds = {f.get("kind", "code") for f in context.get("files", [])}
    title = clean_title(context["pr"]["title"]).lower()
    text = " ".join([title, context["pr"].get("body", "")[:600].lower()])
    if files and all(re.search(r"(?i)(\.(md|rst|txt|adoc)$|(^|/)docs?/)", p) for p in files):
        return "docs"
    if files and all(BUILD_PATH.search(f["path"]) or f.get("kind") == "lockfile"
                     for f in context["files"]):
        return "build"
    if re.search(r"\b(bump|upgrade|update)\b.*\b(from|to)\b", title):
        return "build"
    if kinds == {"test"}:
        return "tests"
    for name, pattern in TASK_WORDS:
        if re.search(pattern, title):
            return name
    for name, pattern in TASK_WORDS:
        if re.search(pattern, text):
            return name
    return "feature"


def difficulty(context: dict[str, Any]) -> str:
    code = [f for f in context.get("files", []) if f.get("kind") == "code"]
    lines = sum(f["additions"] + f["deletions"] for f in code)
    if lines <= 12 and len(code) <= 2:
        return "easy"
    if lines > 150 or len(code) > 6:
        return "hard"
    return "medium"


def skills(context: dict[str, Any], kind: str) -> list[str]:
    found: list[str] = []
    language = context["repo"].get("language") or ""
    if language:
        found.append(language)
    for f in context.get("files", []):
        ext = re.search(r"\.[A-Za-z]+$", f["path"])
        name = CODE_EXT.get(ext.group(0).lower() if ext else "")
        if name and name not in found:
            found.append(name)
    found.append({"bugfix": "debugging", "feature": "API design", "refactor": "refactoring",
                  "performance": "performance optimization", "docs": "technical writing",
                  "tests": "testing", "build": "CI and build configuration"}.get(kind, "coding"))
    if any(f.get("kind") == "test" for f in context.get("files", [])) and "testing" not in found:
        found.append("unit testing")
    return found[:6]


def source_files(context: dict[str, Any]) -> list[str]:
    """Changed source files (not tests, docs, changelogs or build files), most-changed first."""
    code = [f for f in context.get("files", []) if path_kind(f["path"]) == "code"
            and not re.search(r"(?i)(^|/)(examples?|scripts?)/", f["path"])]
    code.sort(key=lambda f: -(f["additions"] + f["deletions"]))
    return [f["path"] for f in code]


def changed_functions(diff: str) -> list[str]:
    """Names of the existing functions or classes that the hunks of source files sit in
    (read from the @@ headers, which show the enclosing definition)."""
    seen: list[str] = []
    for section in file_diffs(diff or ""):
        if path_kind(section.path) != "code":
            continue
        for match in HUNK_FUNCTION.finditer(section.text):
            name = match.group(1) or match.group(2)
            if len(name) > 2 and name not in seen and name not in NOT_FUNCTIONS:
                seen.append(name)
    return seen


def test_files(context: dict[str, Any]) -> list[str]:
    return [f["path"] for f in context.get("files", []) if path_kind(f["path"]) == "test"]


def _constraints(context: dict[str, Any], kind: str, rng: random.Random) -> list[str]:
    """Requirements drawn from the PR's own files, phrased in one of several ways each."""
    tests = test_files(context)
    functions = changed_functions(context.get("diff", ""))
    changed = {f["path"] for f in context.get("files", [])}
    found = []
    if tests:
        target = rng.choice(tests)
        found.append(rng.choice([
            f"Add a test in {target}.", f"Cover it in {target}.",
            f"There should be a test for this in {target}.",
            f"Put a regression test in {target}." if kind == "bugfix"
            else f"Test it in {target}.",
            f"{target} is where the test goes.", f"Extend {target} to check it.",
            f"I want {target} to prove it works.", f"Include a case in {target}.",
        ]))
    if functions and kind in ("bugfix", "refactor", "performance"):
        name = rng.choice(functions[:3])
        found.append(rng.choice([
            f"Keep `{name}`'s signature as it is.", f"Don't change how `{name}` is called.",
            f"`{name}` must keep working for existing callers.",
            f"Callers of `{name}` shouldn't need changes.",
            f"`{name}` keeps its public behaviour otherwise.",
        ]))
    docs = [p for p in changed if re.search(r"(?i)(readme|(^|/)docs?/)", p)]
    if docs and kind == "feature":
        page = rng.choice(sorted(docs))
        found.append(rng.choice([f"Document it in {page}.", f"Update {page} too.",
                                 f"{page} should mention it.", f"Add a note to {page}.",
                                 f"Describe it in {page}.", f"Keep {page} in sync.",
                                 f"{page} needs an example of it.",
                                 f"Say how to use it in {page}."]))
    changelog = [p for p in changed if re.search(r"(?i)(^|/)(CHANGE(S|LOG)|HISTORY)", p)]
    if changelog:
        found.append(rng.choice([f"Add an entry to {changelog[0]}.",
                                 f"Note it in {changelog[0]}.",
                                 f"{changelog[0]} needs a line about it.",
                                 f"Mention the change in {changelog[0]}.",
                                 f"Don't forget {changelog[0]}.",
                                 f"Log it in {changelog[0]} under the next version.",
                                 f"A {changelog[0]} entry is expected."]))
    return found


_OPENERS = {
    "terse_maintainer": ["", "", "pls: ", "todo: ", "quick one: ", "nit: ", "fyi "],
    "new_contributor": ["Hi! I noticed that ", "I'm still finding my way around, but ",
                        "Hello, it looks like ", "Not sure if I'm missing something, but ",
                        "First time here: ", "Apologies if this is known, but "],
    "on_call": ["Urgent-ish: ", "This just bit us: ", "Heads up, ", "Seeing this in CI: ",
                "Paged for this: ", "Blocking a deploy: "],
    "app_developer": ["In our app ", "From the user side: ", "We depend on this and ",
                      "Downstream we noticed ", "Our integration tests show that ",
                      "As a user of the library: "],
    "senior_reviewer": ["", "Context: ", "Observed: ", "Background: ", "Problem: "],
}
_ASKS = {
    "terse_maintainer": ["Fix it.", "Sort it out.", "Handle it.", "Can you do this?", "",
                         "Go ahead.", "Take it.", "Do it properly."],
    "new_contributor": ["Could you take a look and fix it?", "Would you be able to help?",
                        "Can you work on this?", "Could you sort this out, please?",
                        "Would you mind handling it?", "Could you help me get this done?",
                        "Any chance you could take this on?"],
    "on_call": ["Need this fixed quickly.", "Please fix asap.", "Can you get on this?",
                "Please sort this out today.", "Needs to land before the next release.",
                "Quick turnaround please.", "Top priority for today."],
    "app_developer": ["Could you handle this in the library?", "Please make this work.",
                      "That would unblock us.", "Can you take care of it?",
                      "We'd rather not patch around it on our side.",
                      "A fix in the library would help a lot.", "Can this be done upstream?"],
    "senior_reviewer": ["Please take this on.", "I'd like this handled properly.",
                        "Can you make the change?", "Please work on this.",
                        "Make the change with care.", "Handle it end to end, please.",
                        "Own this one, please."],
}
_CLOSERS = {
    "terse_maintainer": ["", "", "Thanks.", "ty", "cheers"],
    "new_contributor": ["Thanks a lot!", "Let me know if anything is unclear.", "Thank you!",
                        "Happy to answer questions.", "Thanks in advance!", ""],
    "on_call": ["Ping me when it's done.", "", "Thanks.", "Keep me posted.",
                "Tell me when it's in."],
    "app_developer": ["Thanks!", "Much appreciated.", "", "Thanks for maintaining this.",
                      "Happy to test a branch."],
    "senior_reviewer": ["Keep the diff focused.", "Run the whole test suite before you finish.",
                        "Small, reviewable commits please.", "", "Explain any trade-offs.",
                        "Don't touch unrelated code."],
}
_HEADINGS = ["Requirements:", "What I need:", "Constraints:", "Please make sure:", "Checklist:",
             "Notes:", "Acceptance criteria:", "Must haves:", "Details:", "To be done:",
             "Expectations:", "Scope:", "Definition of done:", "In short:", "Must-dos:",
             "Things to cover:", "Ground rules:", "Please ensure:", "Points to handle:",
             "Before you finish:", "List of asks:"]


def _where(path: str, functions: list[str], rng: random.Random) -> str:
    if not path:
        return ""
    function = functions[0] if functions and rng.random() < 0.5 else ""
    if function:
        return rng.choice([f" The code is around `{function}` in {path}.",
                           f" Start from `{function}` ({path}).",
                           f" Look at `{function}` in {path}.",
                           f" I think `{function}` in {path} is where it goes wrong.",
                           f" `{function}` ({path}) is the place to start."])
    return rng.choice([f" It lives in {path}.", f" See {path}.",
                       f" The relevant code is in {path}.", f" Probably {path}.",
                       f" Most of it should be in {path}.", f" Check {path} first.",
                       f" {path} is the main suspect."])


def baseline_request(context: dict[str, Any]) -> dict[str, Any]:
    """A vibe_request answer (query, task_type, difficulty, skills) from the PR text."""
    pr = context["pr"]
    rng = random.Random(pr["id"])
    persona = context.get("persona") or pick_variation(pr["id"])[0]
    length = context.get("length") or pick_variation(pr["id"])[1]
    kind = task_type(context)
    issues = [i for i in pr.get("linked_issues", []) if i.get("title") or i.get("body")]
    facts: list[str] = []
    if issues:
        # A closed issue is a real user's request: its words are the basis.
        issue = issues[0]
        goal = clean_title(str(issue.get("title", ""))) or goal_statement(pr["title"], rng)
        for item in issues:
            facts += [s for s in body_sentences(str(item.get("body", "")), 3) if s not in facts]
    else:
        goal = goal_statement(pr["title"], rng)
    facts += [s for s in body_sentences(pr.get("body", "")) if s not in facts]
    steps = steps_to_reproduce(" ".join([pr.get("body", "")] +
                                        [str(i.get("body", "")) for i in issues]))
    code = source_files(context)
    functions = changed_functions(context.get("diff", ""))
    constraints = _constraints(context, kind, rng)
    opener = rng.choice(_OPENERS[persona])
    first = (opener + (goal if opener else upper_first(goal))).rstrip(" .")
    ask = rng.choice(_ASKS[persona])
    where = _where(code[0] if code else "", functions, rng)
    # The ask and the pointer to the code join the first sentence as often as not, so no
    # sentence of theirs recurs across many requests.
    if ask and rng.random() < 0.5:
        first, ask = f"{first} — {lower_first(ask)}", ""
    else:
        first += "."
    if where and first.endswith(".") and rng.random() < 0.5:
        first, where = f"{first[:-1]}; {lower_first(where.strip())}", ""

    if length == "one_liner":
        query = f"{first} {ask}".strip()
    else:
        parts = [first]
        if facts:
            parts.append(" ".join(facts[: 1 if length == "short" else 3]))
        parts.append(where.strip())
        parts.append(ask)
        if length == "short":
            parts += constraints[:1]
        elif length == "detailed":
            if steps:
                parts.append("To reproduce: " + "; ".join(s.rstrip(".") for s in steps) + ".")
            if constraints:
                heading = rng.choice(_HEADINGS)
                parts.append(f"\n\n{heading}\n" + "\n".join(f"- {c}" for c in constraints))
            closer = rng.choice(_CLOSERS[persona])
            parts.append(f"\n\n{closer}" if closer else "")
        else:
            parts += constraints[:2]
            parts.append(rng.choice(_CLOSERS[persona]))
        query = " ".join(p for p in parts if p).replace(" \n", "\n").strip()
    query = re.sub(r"[ \t]+", " ", query)
    return {"query": upper_first(query), "task_type": kind,
            "difficulty": difficulty(context), "skills": skills(context, kind)}


def baseline_judgement(context: dict[str, Any]) -> dict[str, Any]:
    """A judge answer (the 1-5 rubric, a 1-10 rating, a reason) from simple, visible
    features of the request and its PR."""
    query = context.get("query", "")
    words = len(query.split())
    leakage = float(context.get("leakage", 0.0) or 0.0)
    title_terms = {w.lower() for w in re.findall(r"[A-Za-z_]{4,}", context["pr"]["title"])}
    named = sum(1 for w in title_terms if w in query.lower())
    files = context.get("files", [])
    has_tests = any(path_kind(f["path"]) == "test" for f in files)
    code_named = any(PurePosixPath(f["path"]).name in query or
                     PurePosixPath(f["path"]).stem in query for f in files)
    scores = {
        "realism": 2 if words < 6 else 4 if words <= 150 else 3,
        "specificity": min(5, 2 + int(code_named) + int("`" in query) + int(words > 25)),
        "agreement": 4 if title_terms and named / len(title_terms) >= 0.5 else 2,
        "verifiability": 4 if has_tests else 2,
        "leakage": 5 if leakage <= 0.1 else 3 if leakage <= 0.4 else 1,
    }
    if is_instruction(query):
        scores = dict.fromkeys(scores, 1)
    weakest = min(scores, key=lambda name: (scores[name], name))
    mean = sum(scores.values()) / len(scores)
    return {**scores, "rating": max(1, min(10, round(1 + 9 * (mean - 1) / 4))),
            "reason": f"offline heuristic: weakest is {weakest}"}
