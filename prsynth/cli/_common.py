"""What every command shares: the run context, error translation, progress and output."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import click

from prsynth.config import Config
from prsynth.errors import PrsynthError
from prsynth.store import Store


@dataclass
class RunContext:
    """The resolved config and the store, opened on first use."""

    config: Config
    store_path: str
    _store: Store | None = field(default=None, repr=False)

    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.store_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_run = click.make_pass_decorator(RunContext)


class PrsynthGroup(click.Group):
    """Turns library errors into one-line messages with DESIGN.md's exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PrsynthError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        except KeyboardInterrupt:
            click.echo(
                "prsynth: interrupted; everything finished so far is stored, re-run to continue",
                err=True,
            )
            ctx.exit(130)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback: a bar on a terminal (stderr), nothing otherwise."""
    with noted_progress_bar(label) as (update, _):
        yield update


@contextlib.contextmanager
def noted_progress_bar(
    label: str,
) -> Iterator[tuple[Callable[[int, int], None], Callable[[str], None]]]:
    """A progress callback and a way to show a note after the label ("3 verified")."""
    if not sys.stderr.isatty():
        yield (lambda done, total: None), (lambda note: None)
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def note(text: str) -> None:
            bar.update(task, description=f"{label} ({text})")

        yield update, note
