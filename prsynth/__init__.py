"""prsynth: merged pull requests -> realistic coding-agent requests -> a small, diverse set."""

import os

__version__ = "0.1.0"

# GitPython raises at import when no git is on PATH, which made every command (even
# `stats`) die with its traceback. Quiet, only the commands that run git fail, in one
# line (prsynth/cli/_common.py, PrsynthGroup).
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

from prsynth.config import Config, load_config  # noqa: E402
from prsynth.errors import (  # noqa: E402
    ConfigError,
    MissingStageError,
    PartialFailure,
    PrsynthError,
    SourceError,
    StoreError,
)
from prsynth.records import FileChange, PullRequest, Query  # noqa: E402
from prsynth.store import Store  # noqa: E402

__all__ = [
    "Config", "ConfigError", "FileChange", "MissingStageError", "PartialFailure",
    "PrsynthError", "PullRequest", "Query", "SourceError", "Store", "StoreError",
    "__version__", "load_config",
]
