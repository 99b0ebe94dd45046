"""Prompt injection in PR text: lines that talk to a model instead of about the change."""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"(?i)\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:previous|prior|above|earlier|all|"
    r"your)\b.{0,30}\b(?:instructions?|prompts?|rules|directions)\b"
    r"|\byou are now\b|\bsystem prompt\b|\b(?:reply|respond|answer|output)\b.{0,15}\b(?:with|only)"
    r"\b.{0,20}\b(?:word|string|text|phrase)\b"
)


def is_instruction(line: str) -> bool:
    """A line of PR text that talks to a model instead of about the change."""
    return bool(INJECTION.search(line))
