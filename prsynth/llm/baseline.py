"""The offline baseline: a deterministic request (and rating) built from the PR text alone.

No model is involved. It is what demos and tests use without a server, and it is
labelled `offline-baseline` wherever its output goes; it is not LLM quality. It reads
only the title, body, linked issues and changed paths (never the diff's added code, so
it does not hand over the solution), and it skips any line of PR text that reads like
an instruction to a model.
"""

from __future__ import annotations

import random
import re
from typing import Any

from prsynth.llm.personas import pick_variation
from prsynth.text.injection import is_instruction

# Sentences about the PR itself, not the problem: a request written before it cannot say them.
SELF_REFERENCE = re.compile(
    r"(?i)#\d+|https?://|\bbackport|\bthis (?:pr|pull request|change|patch|commit|writes)\b"
)
TITLE_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{1,20}\]\s*|(?:feat|fix|perf|docs?|chore|refactor|test|ci|build|style)"
    r"(?:\([^)]{0,30}\))?!?:\s*|[A-Za-z]{1,12}:\s+)+"
)
BUILD_PATH = re.compile(
    r"(?i)(^|/)(\.github|\.circleci|\.gitlab|ci)/|\.ya?ml$|(^|/)(Dockerfile|Makefile|"
    r"CMakeLists\.txt|setup\.cfg|pyproject\.toml|package\.json|Cargo\.toml|go\.mod|"
    r"[^/]+\.gemspec|build\.gradle(\.kts)?|\.pre-commit-config\.yaml)$"
)
VERBS = frozenset(
    "accept add allow apply avoid bump cache check clamp clean clear convert correct create "
    "deprecate detect document drop emit enable ensure escape expose extend extract fix "
    "guard handle ignore implement improve include introduce keep let limit log make merge "
    "move name normalize parse pass preserve prevent print raise read reduce refactor "
    "reject remove rename reorder replace report require reset resolve respect restore "
    "retry return reuse run show simplify skip sort speed split stop strip support switch "
    "test tidy trim update upgrade use validate warn write harden tighten relax loosen cap "
    "wrap unify mark flag load save send sync port migrate pin lock bound batch stream "
    "fall lower raise bring teach let get turn treat".split()
)
CODE_EXT = {".py": "Python", ".rs": "Rust", ".ts": "TypeScript", ".tsx": "TypeScript",
            ".js": "JavaScript", ".go": "Go", ".c": "C", ".h": "C", ".kt": "Kotlin",
            ".rb": "Ruby", ".java": "Java", ".cpp": "C++", ".cs": "C#", ".swift": "Swift"}
TASK_WORDS = [
    ("performance", r"\b(speed|faster|slow|perf|performance|cache|caching|latency|quadratic|"
                    r"linear scan|index makes|memory)\b"),
    ("refactor", r"\b(clean ?up|refactor|rename|simplif|no behaviou?r change|extract|tidy)\w*"),
    ("bugfix", r"\b(fix|handle|crash|bug|error|wrong|broken|clamp|off by one|boundary|empty "
               r"input|regression|fail|escape|accept|reject|invalid|panic)\w*"),
    ("feature", r"\b(add|support|option|configurable|allow|new|introduce|enable|flag)\w*"),
]


def clean_title(title: str) -> str:
    title = re.sub(r"<[^>]{0,200}>", " ", title)
    title = TITLE_PREFIX.sub("", title)
    title = re.sub(r"\s*\(#\d+\)\s*$", "", title)
    return " ".join(title.split()).rstrip(".")


def body_sentences(text: str, limit: int = 4) -> list[str]:
    """Prose sentences of a PR or issue body: no headings, lists, code, links or instructions."""
    text = re.sub(r"```.*?(```|$)", " ", text or "", flags=re.DOTALL)
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if (not stripped or stripped.startswith(("#", "-", "*", ">", "|", "<!--"))
                or re.match(r"^\d+[.)]\s", stripped) or is_instruction(stripped)
                or re.match(r"(?i)^(fixes|closes|resolves|refs?|see)\b", stripped)
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


def _area(context: dict[str, Any]) -> str:
    code = [f["path"] for f in context.get("files", []) if f.get("kind") == "code"]
    paths = code or [f["path"] for f in context.get("files", [])]
    return paths[0] if paths else ""


def _lower_first(text: str) -> str:
    if text[:1].isupper() and not text[1:2].isupper() and "_" not in text.split(" ")[0]:
        return text[0].lower() + text[1:]
    return text


def goal_phrase(title: str) -> str:
    """The title as something to do: "diff_tree: return early" → "return early in diff_tree",
    "Clearer errors from X" → "give us clearer errors from X"."""
    title = clean_title(title)
    scope = re.match(r"^([\w./-]{2,40}):\s+(.+)$", title)
    if scope:
        title = f"{scope.group(2)} in {scope.group(1)}"
    words = title.lower().split()[:2]
    if words and not any(w in VERBS for w in words):
        title = f"{'give us' if words[0].endswith('er') else 'sort out'} {_lower_first(title)}"
    return _lower_first(title) or "tidy this up"


def baseline_request(context: dict[str, Any]) -> dict[str, Any]:
    """A vibe_request answer (query, task_type, difficulty, skills) from the PR text."""
    pr = context["pr"]
    rng = random.Random(pr["id"])
    persona = context.get("persona") or pick_variation(pr["id"])[0]
    length = context.get("length") or pick_variation(pr["id"])[1]
    kind = task_type(context)
    goal = goal_phrase(pr["title"])
    facts = body_sentences(pr.get("body", ""))
    for issue in pr.get("linked_issues", []):
        facts += [s for s in body_sentences(issue.get("body", ""), 2) if s not in facts]
    steps = steps_to_reproduce(pr.get("body", ""))
    area = _area(context)
    has_tests = any(f.get("kind") == "test" for f in context.get("files", []))
    said = " ".join(facts).lower()
    constraints = [c for c in _constraints(kind, has_tests, rng)
                   if not ("behaviour change" in c.lower() and "behaviour change" in said)]
    opener = rng.choice(_OPENERS[persona])
    asks = "you" in opener.lower() and opener.rstrip().endswith(("you", "please", "me"))
    where = rng.choice([f" in {area}", f" (it's in {area})", f" — see {area}", ""]) if area else ""
    stop = "?" if asks else "."

    if length == "one_liner":
        tail = rng.choice(["", f", {constraints[0].lower().rstrip('.')}"]) if constraints else ""
        query = f"{opener}{goal}{where}{tail}{stop}"
    else:
        parts = [f"{opener}{goal}{where}{stop}"]
        if facts:
            parts.append(" ".join(facts[: 1 if length == "short" else 3]))
        closer = rng.choice(_CLOSERS[persona])
        if length == "short":
            parts.append(constraints[0] if constraints else "")
        elif length == "detailed":
            if steps:
                parts.append("To reproduce: " + "; ".join(s.rstrip(".") for s in steps) + ".")
            parts.append("\n\nRequirements:\n" + "\n".join(f"- {c}" for c in constraints))
            parts.append(f"\n\n{closer}" if closer else "")
        else:
            parts += [" ".join(constraints), closer]
        query = " ".join(p for p in parts if p).replace(" \n", "\n").strip()
    query = re.sub(r"[ \t]+", " ", query)
    return {"query": query[0].upper() + query[1:], "task_type": kind,
            "difficulty": difficulty(context), "skills": skills(context, kind)}


def _constraints(kind: str, has_tests: bool, rng: random.Random) -> list[str]:
    base = {
        "bugfix": ["Don't change the behaviour for valid input.",
                   "Keep the public signature as it is."],
        "feature": ["Keep the current default behaviour unchanged.",
                    "Document the new option where the others are documented."],
        "refactor": ["No behaviour change: the existing tests must pass untouched.",
                     "Keep the public API exactly as it is."],
        "performance": ["Results must stay identical, only faster.",
                        "Show a rough before/after timing on a large input."],
        "docs": ["Match the tone and format of the existing docs.", "Keep it short."],
        "tests": ["Don't change the code under test.", "Keep the tests fast."],
        "build": ["Don't touch the library code.", "Keep the existing jobs working."],
    }.get(kind, ["Keep the change small."])
    chosen = rng.sample(base, k=len(base))
    if has_tests and kind not in ("docs", "build", "tests", "refactor"):
        chosen.insert(0, rng.choice(["Add a regression test for it.", "Cover it with a test.",
                                     "Please add a test that fails before the fix."
                                     if kind == "bugfix" else "Add a test for it."]))
    return chosen


_OPENERS = {
    "terse_maintainer": ["", "", "pls ", "todo: "],
    "new_contributor": ["Hi! Could you help me ", "I'm still finding my way around this repo — "
                        "can you ", "Could you please "],
    "on_call": ["Urgent-ish: ", "This just bit us: ", "Need a quick fix: "],
    "app_developer": ["In our app we need you to ", "From the user side: please ",
                      "We depend on this — please "],
    "senior_reviewer": ["Please ", "I'd like you to ", "Task: "],
}
_CLOSERS = {
    "terse_maintainer": ["", "Thanks."],
    "new_contributor": ["Thanks a lot!", "Let me know if anything is unclear."],
    "on_call": ["Ping me when it's done.", ""],
    "app_developer": ["Thanks!", "That would unblock us."],
    "senior_reviewer": ["Keep the diff focused.", "Run the full test suite before you finish."],
}


def baseline_judgement(context: dict[str, Any]) -> dict[str, Any]:
    """A judge answer (rating 1-10, reason) from simple, visible features of the request."""
    query = context.get("query", "")
    words = len(query.split())
    leakage = float(context.get("leakage", 0.0) or 0.0)
    title_terms = {w.lower() for w in re.findall(r"[A-Za-z_]{4,}", context["pr"]["title"])}
    named = sum(1 for w in title_terms if w in query.lower())
    score = 5.0
    reasons = []
    if words < 6:
        score -= 2
        reasons.append("very short")
    elif words > 25:
        score += 1
        reasons.append("gives context")
    if title_terms and named / len(title_terms) >= 0.5:
        score += 1.5
        reasons.append("states the goal")
    else:
        score -= 1
        reasons.append("goal only loosely stated")
    if re.search(r"(?i)\b(test|don't|keep|must|without)\b", query):
        score += 1
        reasons.append("has constraints")
    if leakage > 0.3:
        score -= 3 * leakage
        reasons.append("names the solution's new identifiers")
    if is_instruction(query):
        score = 1
        reasons.append("contains injected instructions")
    rating = max(1, min(10, round(score)))
    return {"rating": rating, "reason": "offline heuristic: " + ", ".join(reasons)}
