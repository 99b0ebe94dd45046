"""The crawl jobs a config's `[[sources]]` entries ask for, checked before anything runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prsynth.config import Config, SourceConfig
from prsynth.crawl.filters import default_filters
from prsynth.crawl.run import CrawlJob, github_jobs
from prsynth.errors import ConfigError
from prsynth.sources.dumps import DumpSource
from prsynth.sources.github.client import (
    ANONYMOUS_NOTE,
    GitHubClient,
    RequestBudget,
    RetryPolicy,
    check_api_url,
)
from prsynth.sources.github.source import github_client, since_time
from prsynth.sources.local_git import LocalGitSource

SOURCE_KINDS = ("github", "git", "import")


def check_sources(sources: Sequence[SourceConfig]) -> None:
    """Refuse a config whose [[sources]] cannot run, naming the entry and key."""
    if not sources:
        raise ConfigError(
            "the config has no [[sources]] entries; add some (see README 'Scheduled runs')"
            " or use `prsynth crawl github|git|import`"
        )
    for index, source in enumerate(sources):
        where = f"sources[{index}]"
        if source.kind not in SOURCE_KINDS:
            raise ConfigError(
                f"config key '{where}.kind' must be one of {', '.join(SOURCE_KINDS)},"
                f" got {source.kind!r}"
            )
        if source.kind == "github" and not (source.repos or source.repo):
            raise ConfigError(f"config {where}: a github source needs 'repos' (OWNER/NAME list)")
        if source.api_url:
            check_api_url(source.api_url)
        if source.kind == "git" and not (source.path and source.repo):
            raise ConfigError(f"config {where}: a git source needs 'path' and 'repo'")
        if source.kind == "import" and not source.path:
            raise ConfigError(f"config {where}: an import source needs 'path'")
        try:
            since_time(source.since)
        except ConfigError:
            raise ConfigError(
                f"config key '{where}.since' is not a date ({source.since!r}); use YYYY-MM-DD"
            ) from None


def retry_policy(config: Config) -> RetryPolicy:
    settings = config.github
    return RetryPolicy(max_retries=settings.max_retries, max_failures=settings.max_failures,
                       backoff=settings.backoff, secondary_wait=settings.secondary_wait)


def planned_jobs(
    config: Config, *, max_requests: int = 0, notify: Callable[[str], None] | None = None,
) -> list[CrawlJob]:
    """A job per repository, clone and dump of `config.sources`, each with its filters.

    GitHub sources share one request budget and one client per API URL.
    """
    check_sources(config.sources)
    check_api_url(config.github.api_url)
    budget = RequestBudget(max_requests or config.crawl.max_requests)
    clients: dict[str, GitHubClient] = {}
    jobs: list[CrawlJob] = []
    for source in config.sources:
        chain = default_filters(
            include_bots=source.include_bots or config.crawl.include_bots,
            min_changed_lines=source.min_changed_lines,
            max_changed_lines=source.max_changed_lines,
            exclude_paths=source.exclude_paths, licenses=source.licenses,
            tasks=config.filters,
        )
        max_diff_bytes = config.crawl.max_diff_bytes
        if source.kind == "github":
            api_url = source.api_url or config.github.api_url
            if api_url not in clients:
                clients[api_url] = github_client(api_url, budget=budget,
                                                 policy=retry_policy(config), notify=notify)
                if clients[api_url].anonymous and len(clients) == 1 and notify:
                    notify(ANONYMOUS_NOTE)
            repos = [*source.repos, *([source.repo] if source.repo else [])]
            jobs += github_jobs(repos, clients[api_url], limit=source.limit,
                                since=source.since, max_diff_bytes=max_diff_bytes,
                                filters=chain)
        elif source.kind == "git":
            jobs.append(CrawlJob(
                LocalGitSource(source.path, source.repo, since=source.since,
                               max_diff_bytes=max_diff_bytes),
                chain, source.limit))
        else:
            jobs.append(CrawlJob(DumpSource(source.path, max_diff_bytes=max_diff_bytes), chain))
    return jobs
