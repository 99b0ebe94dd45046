"""The contract every derived stage keeps (see docs/architecture.md, "Stages").

A stage reads the store, writes its output back, and knows which inputs determine that
output. Its `fingerprint` covers only its own inputs and knobs; the registry
(`prsynth.stages.registry`) adds the fingerprints of the stages it `reads`, records the
result when the stage finishes, and compares it on the next run to decide staleness.
"""

from __future__ import annotations

from typing import Any, Protocol

from prsynth.config import Config
from prsynth.progress import Progress
from prsynth.store import Store


class StageReport(Protocol):
    """What a finished stage tells its caller: one line for people, a dict for machines."""

    def summary(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


class Stage(Protocol):
    """One derived stage of the pipeline."""

    name: str
    # Stages whose stored output this one reads: their fingerprints are part of its own.
    reads: tuple[str, ...]
    # Of those, the ones that must be up to date before this stage may run on its own.
    requires: tuple[str, ...]

    def fingerprint(self, store: Store, config: Config) -> str:
        """A hash of this stage's own inputs and settings (not of upstream stages)."""
        ...

    def run(self, store: Store, config: Config, progress: Progress) -> StageReport:
        """Compute the output and store it in one transaction; return the report."""
        ...
