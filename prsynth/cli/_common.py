"""What every command shares: the run context, error translation, progress and output."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import click
from rich.text import Text

from prsynth.config import Config, load_config
from prsynth.errors import ConfigError, DiskFull, PrsynthError, StoreError
from prsynth.outputs.export import DISK_FULL
from prsynth.progress import Progress, quiet
from prsynth.store import Store
from prsynth.store.core import explain_sqlite_error
from prsynth.text.redact import redact
from prsynth.text.terminal import terminal_text


@dataclass
class RunContext:
    """The resolved config and the store, opened on first use."""

    config: Config
    store_path: str
    _store: Store | None = field(default=None, repr=False)

    def store(self, *, write: bool = True) -> Store:
        """The store; commands that only read pass `write=False`, so a mistyped --store is
        an error instead of a new empty store, and a read-only store can be read."""
        if self._store is None:
            self._store = Store(self.store_path, create=write)
        elif write and self._store.read_only:
            raise StoreError(f"store {self.store_path} is read-only; make it writable first")
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def use_config_file(self, ctx: click.Context, path: str | None) -> None:
        """A command's own --config FILE replaces the global config (and its store, unless
        --store was given)."""
        if path is None:
            return
        self.config = load_config(path)
        if not ctx.find_root().params.get("store"):
            self.store_path = self.config.store


pass_run = click.make_pass_decorator(RunContext)

# Options of the commands a scheduler runs (`crawl`, `run`).
CONFIG_FILE = click.option(
    "--config", "config_path", metavar="FILE", default=None,
    help="Use this config file (its [[sources]] and store) instead of the global one.")
MAX_REQUESTS = click.option(
    "--max-requests", type=click.IntRange(min=0), default=0,
    help="Stop after N GitHub API requests (0: [crawl] max_requests, else no cap).")


NO_GIT = ("git is not installed or not on PATH; install it (e.g. apt-get install git) "
          "or add its folder to PATH, then re-run")


class PrsynthGroup(click.Group):
    """Turns library errors into one-line messages with the exit codes of docs/architecture.md."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PrsynthError as exc:
            raise _one_line(exc) from None
        except sqlite3.Error as exc:
            run = ctx.find_object(RunContext)
            explained = explain_sqlite_error(exc, run.store_path if run else "")
            if explained is None:
                raise
            raise _one_line(explained) from None
        except OSError as exc:
            if exc.filename == "git":  # subprocess.run(["git", ...]) with no git installed
                raise _one_line(ConfigError(NO_GIT)) from None
            if exc.errno not in DISK_FULL:
                raise
            where = exc.filename or "the output"
            raise _one_line(DiskFull(
                f"disk full while writing {where}; nothing stored was lost")) from None
        except Exception as exc:
            if type(exc).__name__ != "GitCommandNotFound":  # GitPython's, with no git
                raise
            raise _one_line(ConfigError(NO_GIT)) from None
        except KeyboardInterrupt:
            click.echo(
                "prsynth: interrupted; everything finished so far is stored, re-run to continue",
                err=True,
            )
            ctx.exit(130)


def _one_line(exc: PrsynthError) -> click.ClickException:
    # Messages can quote URLs and server answers: no secret or escape sequence gets out.
    error = click.ClickException(terminal_text(redact(str(exc))))
    error.exit_code = exc.exit_code
    return error


def safe_cells(*cells: str) -> list[Text]:
    """Table cells from untrusted text: control characters stripped, and shown as plain
    text (rich would read `[b]` in a PR title as markup)."""
    return [Text(terminal_text(cell)) for cell in cells]


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A progress callback: a bar on a terminal (stderr), nothing otherwise."""
    if not sys.stderr.isatty():
        yield quiet
        return
    from rich.console import Console
    from rich.progress import Progress as Bar

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=f"{label}: {step}" if step else label,
                       completed=done, total=total)

        yield update
