"""The crawl filters as they were before the task filters (bots, empty diffs, lockfile,
generated and vendored files only), for tests about crawl mechanics (pagination,
retries, resumption, record fields) whose small PRs are not coding tasks; the task
filters themselves are proven in tests/test_tasks.py."""

import dataclasses

from prsynth.config import FiltersConfig

FILTERS_OFF = dataclasses.replace(FiltersConfig.off(), generated_only=True)
FILTERS_OFF_TOML = """
[filters]
release = false
dependency_bump = false
no_source_code = false
branch_sync = false
revert = false
typo_or_format = false
generated_only = true
min_changed_lines = 0
max_changed_lines = 0
"""
