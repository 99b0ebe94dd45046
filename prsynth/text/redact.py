"""Secrets in PR text and diffs become placeholders before anything is kept or sent.

Applied to every PR before the crawl stores it (so the store never holds a secret
found in a diff), again to every PR field that goes into a prompt (stores made
before crawl redacted), to every answer before it is stored,
and to error messages before they are logged. Each rule names what it found, so a
redacted prompt still reads naturally: `token = "[REDACTED:github-token]"`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from typing import Any

from prsynth.records import PullRequest

PLACEHOLDER = "[REDACTED:{kind}]"

# (kind, pattern, hints): the whole match is replaced, or group "secret" when the pattern
# has one. A rule runs only on texts holding one of its hints (literal substrings every
# match contains), which keeps redaction cheap enough to run on every crawled PR.
TOKEN_RULES: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (kind, re.compile(pattern), hints)
    for kind, pattern, hints in (
        ("private-key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
                        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
         ("PRIVATE KEY",)),
        ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
        ("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", ("xox",)),
        ("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}",
         ("hooks.slack.com",)),
        ("openai-key", r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,}", ("sk-",)),
        ("stripe-key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}", ("k_live_", "k_test_")),
        ("aws-access-key-id", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
         ("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
        ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}", ("AIza",)),
        ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}", ("hf_",)),
        ("npm-token", r"\bnpm_[A-Za-z0-9]{36}", ("npm_",)),
        ("pypi-token", r"\bpypi-[A-Za-z0-9_-]{50,}", ("pypi-",)),
        ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", ("eyJ",)),
        ("url-password", r"\b[a-z][a-z0-9+.-]*://[^\s/:@\"']+:(?P<secret>[^\s@/\"']+)@",
         ("://",)),
    )
)

# `password = "..."`, `AWS_SECRET_ACCESS_KEY: ...`, `--api-key=...`: the value is replaced
# when it looks random (see `looks_random`), so `token = get_token()` stays as it is.
# The name starts where an identifier starts (the lookbehind), so the engine does not
# retry the name from every character inside a long identifier.
KEYWORDS = (r"passw(?:or)?d|passwd|pwd|secret|token|api[_ -]?key|apikey|access[_-]?key|"
            r"private[_-]?key|auth[_-]?key|credentials?|client[_-]?secret")
ASSIGNMENT_HINT = re.compile(f"(?i){KEYWORDS}")
ASSIGNMENT = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z0-9_.-]*(?:{KEYWORDS})[A-Za-z0-9_]*)"
    r"(?P<sep>[\"']?\s*(?:=|:|=>|:=)\s*)(?P<quote>[\"'`]?)"
    r"(?P<secret>[A-Za-z0-9+/=_.~!@#$%^&*-]{8,})(?P=quote)"
)

# Secrets stated in prose: "the password is hK8#mZ2qLx9!", "AWS secret key: wJal...",
# "here is my token Xk29...". A secret word, up to 40 characters on the same line (not
# across a placeholder, so a second pass finds nothing new), then a token that passes
# the stricter `looks_like_a_secret`.
PROSE = re.compile(
    rf"(?i)(?<![A-Za-z0-9_])(?<!REDACTED:)(?P<name>{KEYWORDS})"
    r"(?P<gap>[^\n\[]{0,40}?[\s:=>\"'`(])(?P<secret>[A-Za-z0-9+/=_.~!@#$%^&*-]{10,}+)"
)


# The cheap pre-scan every secret-free text gets: plain substring tests (memchr-fast,
# unlike a case-insensitive regex alternation) for every rule's hints, then for these
# lower-case literals, one of which every ASSIGNMENT keyword contains. Built from the
# rules above, so a new rule with hints is covered without editing this.
TOKEN_HINTS = tuple(dict.fromkeys(hint for _, _, hints in TOKEN_RULES for hint in hints))
KEYWORD_LITERALS = ("passw", "pwd", "secret", "token", "key", "credential")
# Under (?i) these four non-ASCII letters match ASCII ones (İ ı ~ i, ſ ~ s, K ~ k).
_CASE_FOLDING = "İıſK"
_IDENTIFIER_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-" + _CASE_FOLDING
)


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_random(value: str, quoted: bool = True) -> bool:
    """A credential-like value: long, mixed letters/digits and high entropy.

    Unquoted values must also hold a digit, so code such as `token = token_value` stays.
    """
    if len(value) < 8 or value.startswith(("[REDACTED", "$", "{", "<")):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if not quoted and not re.search(r"[0-9]", value):
        return False
    return classes >= 2 and shannon_entropy(value) >= 3.0


def looks_like_a_secret(value: str) -> bool:
    """Stricter than `looks_random`, for tokens found in prose rather than assigned: a
    digit, a letter, three character classes (or two in 20+ characters), high entropy."""
    value = value.rstrip(".,;:!)")
    if len(value) < 10 or value.startswith("[REDACTED"):
        return False
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]",
                                                          r"[^A-Za-z0-9]"))
    if not re.search(r"[0-9]", value) or not re.search(r"[A-Za-z]", value):
        return False
    if classes < 3 and not (classes >= 2 and len(value) >= 20):
        return False
    return shannon_entropy(value) >= 3.0


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """`text` with every secret found replaced by a `[REDACTED:kind]` placeholder."""
    if not text:
        return text
    for secret in extra_secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, PLACEHOLDER.format(kind="api-key"))
    present = {hint for hint in TOKEN_HINTS if hint in text}
    for kind, pattern, hints in TOKEN_RULES if present else ():
        if not present.isdisjoint(hints):
            if kind == "url-password":
                redacted = _redact_url_passwords(text, pattern)
            else:
                redacted = pattern.sub(lambda m, kind=kind: _replace(m, kind), text)
            if redacted != text:  # a placeholder may hold another rule's hint
                text = redacted
                present = {hint for hint in TOKEN_HINTS if hint in text}
    positions = _keyword_positions(text)
    assigned = _redact_assignments(text, positions)
    return _redact_prose(assigned, positions if assigned is text else None)


def _keyword_positions(text: str) -> list[int]:
    """Sorted positions where an ASSIGNMENT keyword may start (a superset is fine)."""
    lower = text
    if not text.isascii():
        for letter, ascii_letter in zip(_CASE_FOLDING, "iisk", strict=True):
            if letter in lower:  # str.replace, not str.translate: many times faster
                lower = lower.replace(letter, ascii_letter)
    lower = lower.lower()
    if len(lower) != len(text):  # a character lower-cased to two: positions would shift
        return [m.start() for m in ASSIGNMENT_HINT.finditer(text)]
    positions = []
    for literal in KEYWORD_LITERALS:
        at = lower.find(literal)
        while at >= 0:
            positions.append(at)
            at = lower.find(literal, at + 1)
    return sorted(positions)


def _redact_assignments(text: str, positions: list[int] | None = None) -> str:
    """`ASSIGNMENT.sub(_replace_assignment, text)`, tried only where a keyword occurs.

    Every match starts where the identifier holding a keyword starts, so the pattern is
    matched (anchored) at those starts alone instead of being searched from every
    character of a long diff. `positions` are `_keyword_positions(text)` when known.
    """
    parts: list[str] = []
    done = 0
    tried = -1
    for start in _keyword_positions(text) if positions is None else positions:
        while start > done and text[start - 1] in _IDENTIFIER_CHARS:
            start -= 1
        if start < done or (start == done and done and text[done - 1] in _IDENTIFIER_CHARS):
            continue
        if start == tried:
            continue
        tried = start
        match = ASSIGNMENT.match(text, start)
        if match is None:
            continue
        parts += [text[done:start], _replace_assignment(match)]
        done = match.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")


def _redact_url_passwords(text: str, pattern: re.Pattern[str]) -> str:
    """The url-password rule's `pattern.sub`, tried only at the scheme before each "://".

    Every match holds exactly one "://", right after its scheme (no other part of it may
    hold ":" or "/"), and starts at the first letter of that scheme with a word boundary
    before it; if the pattern fails there it fails at every later start in the scheme.
    """
    parts: list[str] = []
    done = 0
    at = text.find("://")
    while at >= 0:
        start = at
        while start > done and text[start - 1] in SCHEME_CHARS:
            start -= 1
        for first in range(start, at):
            if "a" <= text[first] <= "z" and (
                    first == 0 or not (text[first - 1].isalnum() or text[first - 1] == "_")):
                match = pattern.match(text, first)
                if match:
                    parts += [text[done:first], _replace(match, "url-password")]
                    done = match.end()
                break
        at = text.find("://", max(at + 1, done))
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _replace(match: re.Match[str], kind: str) -> str:
    placeholder = PLACEHOLDER.format(kind=kind)
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        start, end = match.span("secret")
        offset = match.start()
        whole = match.group(0)
        return whole[: start - offset] + placeholder + whole[end - offset:]
    return placeholder


def _replace_assignment(match: re.Match[str]) -> str:
    value = match.group("secret")
    if not looks_random(value, quoted=bool(match.group("quote"))):
        return match.group(0)
    quote = match.group("quote")
    kind = "password" if re.search(r"(?i)pass|pwd", match.group("name")) else "secret"
    return f"{match.group('name')}{match.group('sep')}{quote}{PLACEHOLDER.format(kind=kind)}{quote}"


# How far before a keyword literal (`key`, `secret`) a PROSE keyword may start:
# "api key", "access_key", "private-key", "auth key", "client secret".
_PROSE_LEADS = (0, 3, 4, 5, 6, 7, 8)


def _redact_prose(text: str, positions: list[int] | None = None) -> str:
    """`PROSE.sub(_replace_prose, text)`, tried only where a keyword may start (as
    `_redact_assignments` does), so a long diff is not searched from every character.
    `positions` are `_keyword_positions(text)` when known."""
    if positions is None:
        positions = _keyword_positions(text)
    starts = sorted({at - lead for at in positions for lead in _PROSE_LEADS if at - lead >= 0})
    parts: list[str] = []
    done = 0
    for start in starts:
        if start < done:
            continue
        match = PROSE.match(text, start)
        if match is None:
            continue
        parts += [text[done:start], _replace_prose(match)]
        done = match.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _replace_prose(match: re.Match[str]) -> str:
    value = match.group("secret").rstrip(".,;:!)")
    if not looks_like_a_secret(value):
        return match.group(0)
    kind = "password" if re.search(r"(?i)pass|pwd", match.group("name")) else "secret"
    start = match.start("secret") - match.start()
    whole = match.group(0)
    return whole[:start] + PLACEHOLDER.format(kind=kind) + whole[start + len(value):]


def redact_json(value: Any) -> Any:
    """`value` (decoded JSON) with every string in it redacted; for caches of API answers."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def masked_url(url: str) -> str:
    """`url` fit for a message: user and password (`https://user:pass@host`) become `***`,
    and secrets in the query string are redacted."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return redact(url)
    if parts.username is None and parts.password is None:
        return redact(url)
    return redact(urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}{port}")))


def find_secrets(text: str) -> list[str]:
    """The secret values `redact` would replace in `text` (for tests and diagnostics)."""
    found = []
    for _, pattern, _ in TOKEN_RULES:
        for m in pattern.finditer(text):
            found.append(m.group("secret") if "secret" in pattern.groupindex else m.group(0))
    found += [
        m.group("secret") for m in ASSIGNMENT.finditer(text)
        if looks_random(m.group("secret"), quoted=bool(m.group("quote")))
    ]
    found += [m.group("secret").rstrip(".,;:!)") for m in PROSE.finditer(text)
              if looks_like_a_secret(m.group("secret"))]
    return found


def redact_pr(pr: PullRequest) -> PullRequest:
    """A copy of `pr` with secrets replaced in every text it carries (crawl stores this)."""
    return dataclasses.replace(
        pr, title=redact(pr.title), body=redact(pr.body), diff=redact(pr.diff),
        repo_description=redact(pr.repo_description),
        linked_issues=[
            {**i, "title": redact(str(i.get("title", ""))), "body": redact(str(i.get("body", "")))}
            for i in pr.linked_issues if isinstance(i, dict)
        ],
    )
