"""Personal data in PR text: commit trailers and e-mail addresses, removed before text
is stored, sent to an LLM, written into a request, exported or shown in a report.

Trailers (`Co-authored-by:`, `Signed-off-by:`, ...) name people and carry their
addresses; they say nothing about the change, so whole trailer lines go. Any other
e-mail address becomes `[email]`. Code diffs are left byte-exact (a patch must still
apply); see docs/architecture.md, "Personal data".
"""

from __future__ import annotations

import dataclasses
import re

from prsynth.records import PullRequest

EMAIL_PLACEHOLDER = "[email]"
TRAILER = re.compile(
    r"(?im)^[ \t>*-]*(?:co-authored-by|signed-off-by|reviewed-by|acked-by|tested-by|"
    r"reported-by|suggested-by|helped-by|cc|approved-by|committed-by):[^\n]*(?:\n|$)"
)
# A trailer inside a line (an LLM answer that runs one into a sentence): the rest of the
# line goes.
INLINE_TRAILER = re.compile(
    r"(?i)\s*\b(?:co-authored-by|signed-off-by|reviewed-by|acked-by|tested-by|reported-by|"
    r"suggested-by|helped-by):[^\n]*"
)
# Local part, "@", then a domain with at least one dot: `actions/upload-artifact@v4` and
# `@decorator` are not addresses.
EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b"
)
BOT_SIGNOFF = re.compile(r"(?im)^[ \t]*signed-off-by:\s*([^<\n]*?\[bot\])")


def strip_personal_data(text: str) -> str:
    """`text` without trailer lines and with every e-mail address replaced by `[email]`."""
    if not text or ("@" not in text and ":" not in text):
        return text or ""
    text = INLINE_TRAILER.sub("", TRAILER.sub("", text))
    text = EMAIL.sub(EMAIL_PLACEHOLDER, text)
    return text.rstrip() if text.strip() else ""


def has_personal_data(text: str) -> bool:
    """True when `text` still holds a trailer line or an e-mail address."""
    return bool(INLINE_TRAILER.search(text or "") or EMAIL.search(text or ""))


def signed_off_by_bot(text: str) -> bool:
    """A squash-merge message signed off by a bot (`Signed-off-by: dependabot[bot]`)."""
    return bool(BOT_SIGNOFF.search(text or ""))


def scrub_pr(pr: PullRequest) -> PullRequest:
    """A copy of `pr` without personal data in its title, description and linked issues.

    The diff is left as it is: a patch must still apply (docs/architecture.md, "Personal
    data"); prompts take their diff excerpt through `strip_emails`.
    """
    return dataclasses.replace(
        pr, title=strip_personal_data(pr.title), body=strip_personal_data(pr.body),
        linked_issues=[
            {**i, "title": strip_personal_data(str(i.get("title", ""))),
             "body": strip_personal_data(str(i.get("body", "")))}
            for i in pr.linked_issues if isinstance(i, dict)
        ],
    )


def strip_emails(text: str) -> str:
    """`text` with every e-mail address replaced by `[email]` (lines otherwise kept)."""
    return EMAIL.sub(EMAIL_PLACEHOLDER, text) if text and "@" in text else text


def without_personal_data(pr: PullRequest) -> PullRequest:
    """What may go into a prompt: `scrub_pr`, and no e-mail addresses in the diff either."""
    return dataclasses.replace(scrub_pr(pr), diff=strip_emails(pr.diff))
