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


# Changed lines (code and tests) → the lengths a request for a change that size takes.
LENGTH_BY_SIZE = ((30, ("one_liner", "short")), (120, ("short", "paragraph")),
                  (400, ("paragraph", "detailed")), (10**9, ("detailed",)))


def pick_variation(pr_id: str, changed_lines: int | None = None) -> tuple[str, str]:
    """(persona, length) for a PR, the same on every run: personas spread evenly, and the
    length follows the size of the change when it is known."""
    digest = hashlib.sha256(pr_id.encode("utf-8")).digest()
    persona = list(PERSONAS)[digest[0] % len(PERSONAS)]
    if changed_lines is None:
        return persona, list(LENGTHS)[digest[1] % len(LENGTHS)]
    choices = next(lengths for limit, lengths in LENGTH_BY_SIZE if changed_lines <= limit)
    return persona, choices[digest[1] % len(choices)]
