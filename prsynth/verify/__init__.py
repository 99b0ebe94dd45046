"""Verification machinery: worktrees at a PR's base commit, cached Python environments,
test runs and the SWE-bench classification of one task. The stage that drives it over
the store is `prsynth.stages.verify`. See docs/architecture.md (verify)."""

from prsynth.verify.task import STATUSES, Task, Verification, classify, verify_task

__all__ = ["STATUSES", "Task", "Verification", "classify", "verify_task"]
