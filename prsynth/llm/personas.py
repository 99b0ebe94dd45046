"""Who is typing a request, and how long it is: every backend varies both per PR."""

from __future__ import annotations

import hashlib

# Who is typing, and how long the request is: the vibe_request template varies both.
PERSONAS = {
    "terse_maintainer": "a busy maintainer of the repository who types short, plain requests",
    "new_contributor": "a newer contributor who gives some context and asks politely",
    "on_call": "an engineer who just hit the problem (in CI or production) and is in a hurry",
    "app_developer": "a developer whose application uses this project and describes what "
                     "they see from the outside",
    "senior_reviewer": "a careful senior developer who spells out constraints and edge cases",
}
LENGTHS = {
    "one_liner": "a single line of at most 25 words",
    "short": "two or three sentences",
    "paragraph": "one paragraph of four to six sentences",
    "detailed": "several short paragraphs, or a paragraph and a short list of requirements",
}


def pick_variation(pr_id: str) -> tuple[str, str]:
    """(persona, length) for a PR: spread evenly and the same on every run."""
    digest = hashlib.sha256(pr_id.encode("utf-8")).digest()
    return (list(PERSONAS)[digest[0] % len(PERSONAS)], list(LENGTHS)[digest[1] % len(LENGTHS)])
