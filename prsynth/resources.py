"""Files shipped beside the code: top-level `prompts/` and `data/`.

In a wheel they are installed as the packages `prsynth.bundled_prompts` and
`prsynth.data` (see setup.cfg; `prsynth.llm.prompts` is the module that renders the
templates); in a source checkout they are the folders next to `prsynth/`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
PACKAGES = {"prompts": "prsynth.bundled_prompts", "data": "prsynth.data"}


def resource_dir(name: str) -> Path:
    """The folder of `prompts` or `data`, installed or in the checkout."""
    spec = importlib.util.find_spec(PACKAGES[name])
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if Path(location).is_dir():
                return Path(location)
    return CHECKOUT / name


def prompts_dir() -> Path:
    return resource_dir("prompts")


def data_dir() -> Path:
    return resource_dir("data")


def sample_prs_path() -> Path:
    """The bundled sample of merged PRs (JSONL in the export format)."""
    return data_dir() / "sample_prs.jsonl"


def invented_prs_path() -> Path:
    """Three invented PRs with hazards the real sample lacks (HTML in a title, a prompt
    injection, planted fake secrets), for tests; see data/README.md."""
    return data_dir() / "invented_prs.jsonl"
