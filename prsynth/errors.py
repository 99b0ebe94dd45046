"""Errors a user can cause. The CLI turns each into a one-line message and an exit code."""


class PrsynthError(Exception):
    """Base class: a problem with the user's input, config or environment, not a bug."""

    exit_code = 1


class ConfigError(PrsynthError):
    """Bad usage or configuration (a flag, a config key, a malformed argument)."""

    exit_code = 2


class StoreError(PrsynthError):
    """The store file cannot be used (not SQLite, another tool's database, too new)."""


class SourceError(PrsynthError):
    """A source (a clone, a dump, an API) cannot be read."""


class MissingStageError(PrsynthError):
    """A command needs the output of an earlier stage that has not been run."""


class PartialFailure(PrsynthError):
    """Some sources or items failed; the rest was done and stored."""

    exit_code = 3


class BudgetSpent(PartialFailure):
    """A budget the whole run shares (API requests, cost) is spent: what was done is
    stored, and the rest of the run is skipped until the next one."""


class DiskFull(PrsynthError):
    """The disk (or a file-size limit) ran out while writing; committed work is kept."""
