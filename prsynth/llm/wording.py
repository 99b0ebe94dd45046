"""Wording helpers of the offline baseline: a PR title turned into a goal or a symptom
("Fix X dropping Y" becomes "X keeps dropping Y"), never copied whole."""

from __future__ import annotations

import random
import re

TITLE_PREFIX = re.compile(
    r"^\s*(?:\[[^\]]{1,20}\]\s*|(?:feat|fix|perf|docs?|chore|refactor|test|ci|build|style)"
    r"(?:\([^)]{0,30}\))?!?:\s*|[A-Za-z]{1,12}:\s+|:[a-z_]+:\s*)+"
)
NOT_WORD_START = re.compile(r"^[^\w`'\"(\[]+")
# -ing words that introduce a clause rather than name what goes wrong ("... including retries").
NOT_GERUNDS = frozenset({"including", "using", "regarding", "during", "according", "following",
                         "concerning", "involving", "string", "thing", "nothing", "something",
                         "setting", "settings", "warning", "warnings", "mapping", "pending",
                         "padding", "encoding", "binding", "bindings", "typing", "logging",
                         "routing", "caching", "parsing", "testing", "spacing"})
PAST_TENSE = {"added": "add", "fixed": "fix", "updated": "update", "removed": "remove",
              "improved": "improve", "changed": "change", "made": "make", "allowed": "allow",
              "implemented": "implement", "introduced": "introduce", "dropped": "drop",
              "adds": "add", "fixes": "fix", "updates": "update", "removes": "remove",
              "improves": "improve", "changes": "change", "makes": "make", "allows": "allow",
              "supports": "support", "ensures": "ensure", "uses": "use", "renamed": "rename",
              "renames": "rename", "handled": "handle", "handles": "handle", "used": "use"}

def clean_title(title: str) -> str:
    title = re.sub(r"<[^>]{0,200}>", " ", title)
    title = NOT_WORD_START.sub("", title.strip())
    title = TITLE_PREFIX.sub("", title)
    title = NOT_WORD_START.sub("", title)
    title = re.sub(r"\s*\(#\d+\)\s*$", "", title)
    return " ".join(title.split()).rstrip(".")


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _plural(subject: str) -> bool:
    last = subject.strip("`'\" ").split(" ")[-1].lower() if subject.strip() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def lower_first(text: str) -> str:
    if re.match(r"I\b", text):
        return text
    if text[:1].isupper() and not text[1:2].isupper() and "_" not in text.split(" ")[0]:
        return text[0].lower() + text[1:]
    return text


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def goal_statement(title: str, rng: random.Random) -> str:
    """The title restated as a goal or symptom a developer would report, not copied.

    "Fix X dropping Y when Z" → "X keeps dropping Y when Z"; "Add X" → "we need X";
    "Don't throw E for R" → "it throws E for R, and it shouldn't"; "Make X Y" → "X
    should Y"; "Allow X to Y" → "X can't Y yet". Anything else keeps its words in a
    frame that asks for it.
    """
    text = clean_title(title)
    scope = re.match(r"^([\w./-]{2,40}):\s+(.+)$", text)
    area = ""
    if scope:
        area, text = scope.group(1), scope.group(2)
    words = text.split()
    if not words:
        return "something here needs fixing"
    verb, rest = words[0].lower(), " ".join(words[1:])
    verb = PAST_TENSE.get(verb, verb)
    rest = re.sub(r"^(?:support\s+for\s+)?(?:the|a|an)\s+", "", rest, flags=re.I)
    where = f" in {area}" if area else ""
    if verb in ("fix", "fixes", "fixed", "fixing", "correct", "corrects", "repair"):
        gerund = re.match(r"^((?:\S+\s+){0,4}?\S+)\s+(being|not being|\w{3,}ing)\b(.*)$", rest)
        if gerund and gerund.group(2).lower() not in NOT_GERUNDS \
                and not re.search(r"\b(to|of|for|in|on|with)$", gerund.group(1)):
            subject, action, tail = gerund.groups()
            if subject.endswith(" not"):
                subject = subject[:-4]
                return f"{subject}{where} {'aren' if _plural(subject) else 'isn'}'t {action}{tail}"
            keep = "keep" if _plural(subject) else "keeps"
            return f"{subject}{where} {keep} {action}{tail}"
        rest = re.sub(r"^(?:bug|issue|problem|error)s?\s+(?:with|in|on|involving|where|when)\s+",
                      "", rest, flags=re.I)
        return rng.choice([f"there's a bug{where}: {lower_first(rest)}",
                           f"{lower_first(rest)}{where} is broken",
                           f"something is wrong with {lower_first(rest)}{where}",
                           f"{lower_first(rest)}{where} doesn't work the way it should"])
    if verb in ("don't", "dont", "do", "stop", "avoid", "never", "prevent") and rest:
        rest = re.sub(r"^not\s+", "", rest, flags=re.I) if verb == "do" else rest
        first, _, tail = rest.partition(" ")
        if verb in ("don't", "dont", "do", "never"):
            return f"it {_third_person(first.lower())} {tail}{where}, and it shouldn't".replace(
                "  ", " ")
        return f"{lower_first(rest)}{where} happens and it shouldn't"
    if verb in ("add", "introduce", "implement", "create", "expose", "provide"):
        return rng.choice([f"we need {rest}{where}", f"there's no {rest}{where} yet",
                           f"it would help to have {rest}{where}",
                           f"{rest}{where} is missing"])
    if verb in ("support", "supports"):
        return f"{rest}{where} isn't supported yet"
    if verb in ("allow", "allows", "let", "permit", "enable"):
        to = re.match(r"^(.+?)\s+to\s+(.+)$", rest)
        if to:
            return f"{to.group(1)}{where} can't {to.group(2)} yet"
        return f"{rest}{where} isn't possible right now"
    if verb in ("make", "makes"):
        return f"{rest}{where} — that's how it should behave, and it doesn't yet"
    if verb in ("ensure", "ensures"):
        return f"{rest}{where} should hold but doesn't today"
    if verb in ("improve", "improves", "clarify", "enhance", "better"):
        return rng.choice([f"{rest}{where} could be a lot better", f"{rest}{where} is confusing",
                           f"{rest}{where} needs work"])
    if verb in ("remove", "removes", "drop", "drops", "delete", "deprecate"):
        return f"{rest}{where} should go" if verb != "deprecate" else \
            f"{rest}{where} should be deprecated"
    if verb in ("rename", "renames"):
        return f"{rest.replace(' to ', ' should be called ', 1)}{where}"
    if verb in ("update", "updates", "change", "changes", "use", "uses", "switch", "replace",
                "refactor", "simplify", "cleanup", "clean", "move", "convert", "rewrite"):
        return rng.choice([f"the code around {lower_first(rest)}{where} needs rework",
                           f"{lower_first(rest)}{where} needs attention"])
    if verb.isalpha() and rest and verb not in ("the", "a", "an", "more", "better", "new"):
        doing = _gerund(verb)
        return rng.choice([f"can you look into {doing} {rest}{where}",
                           f"we should get to {doing} {rest}{where}",
                           f"{doing} {rest}{where} is overdue"])
    return rng.choice([f"{lower_first(text)}{where} needs sorting out",
                       f"about {lower_first(text)}{where}: it needs doing",
                       f"{lower_first(text)}{where} still isn't right"])


def _gerund(verb: str) -> str:
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    if re.search(r"[^aeiou][aeiou][bdgmnprt]$", verb) and len(verb) <= 4:
        return verb + verb[-1] + "ing"
    return verb + "ing"


