"""Text from PRs, queries and errors made safe to print on a terminal.

A PR title can hold escape sequences (clear the screen, set the window title, ring
the bell); printed raw they act on the user's terminal. Every table and message the
CLI prints goes through `terminal_text`.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, and C1 controls (ESC/CSI/OSC lead-ins included).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A whole escape sequence (CSI ... final byte, OSC ... BEL/ST), so no stray "[2J" is left.
ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def terminal_text(text: str, *, one_line: bool = False) -> str:
    """`text` without escape sequences and control characters (tabs and newlines stay,
    or become spaces with `one_line`)."""
    if not text:
        return text
    text = CONTROL.sub("", ESCAPE.sub("", text.replace("\r\n", "\n")))
    return " ".join(text.split()) if one_line else text


def terminal_value(value: object) -> object:
    """Strings made safe; lists, dicts and anything else walked through."""
    if isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, dict):
        return {k: terminal_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [terminal_value(v) for v in value]
    return value
