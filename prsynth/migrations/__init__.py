"""Schema migrations: one module per change, named `mNNN_what.py`, applied in order.

Each module has a docstring and `apply(db)`. The store records every applied
migration (table `migrations`, and `PRAGMA user_version` = the highest number),
so any older store upgrades in place and the schema never changes any other way.
To change the schema, add the next numbered module; never edit an applied one.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sqlite3
from dataclasses import dataclass
from types import ModuleType

NAME = re.compile(r"^m(\d{3})_\w+$")


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    module: ModuleType


def all_migrations() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = NAME.match(info.name)
        if match:
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration(int(match.group(1)), info.name, module))
    found.sort(key=lambda m: m.number)
    numbers = [m.number for m in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {[m.name for m in found]}")
    return found


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run SQL statements one by one, inside the caller's transaction.

    (`executescript` would COMMIT first, so a failed migration could be half applied.)
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement.strip()[:60]}")
