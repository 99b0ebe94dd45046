"""The one progress callback every long loop reports through.

Library code calls `progress(step, done, total)`; the CLI turns it into a bar on a
terminal, tests and scheduled jobs pass nothing. `step` names what is being counted
(a stage, "crawl owner/name", ...), so one callback can follow a multi-stage run.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def quiet(step: str, done: int, total: int) -> None:
    """A progress callback that reports nothing."""
