"""Typed configuration: `prsynth.toml`, overridden by environment, overridden by flags.

Each section of the file is one dataclass. Unknown keys and wrong types are a
`ConfigError` naming the key, so a typo never silently falls back to a default.
Secrets (GITHUB_TOKEN, OPENAI_API_KEY) are not part of the config: they are read
from the environment by the component that needs them and never stored.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prsynth.errors import ConfigError

DEFAULT_CONFIG_FILE = "prsynth.toml"
DEFAULT_STORE = "prsynth.db"


@dataclass
class CrawlConfig:
    """Knobs shared by every source."""

    max_diff_bytes: int = 200_000
    include_bots: bool = False
    max_requests: int = 0  # API requests per run, over every GitHub source (0: no cap)


@dataclass
class SourceConfig:
    """One `[[sources]]` entry of a config-driven crawl."""

    kind: str = ""
    repos: list[str] = field(default_factory=list)
    path: str = ""
    repo: str = ""
    api_url: str = ""
    limit: int = 0
    since: str = ""
    include_bots: bool = False
    min_changed_lines: int = 0
    max_changed_lines: int = 0
    exclude_paths: list[str] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)


@dataclass
class FiltersConfig:
    """Which merged PRs count as coding tasks (README "Task filters"): each switch drops
    one kind of non-task at crawl time; a `[[sources]]` entry's own changed-lines bounds,
    when set, replace the window here."""

    release: bool = True  # "release version 3.1.6", "Version 0.28.0"
    dependency_bump: bool = True  # dependency, lock-file and CI-action bumps
    no_source_code: bool = True  # docs, changelog, CI or packaging metadata only
    allow_docs: bool = False  # keep docs-only changes (as docs tasks)
    branch_sync: bool = True  # "Merge 3.1.x into main"
    revert: bool = True
    typo_or_format: bool = True  # typo, spelling and formatting passes
    generated_only: bool = True  # lockfiles, vendored or generated files only
    min_changed_lines: int = 10  # changed lines of code, tests and docs (0: no minimum)
    max_changed_lines: int = 1500  # 0: no maximum

    @classmethod
    def off(cls) -> FiltersConfig:
        """Every task filter switched off: keep every merged, non-bot PR with a diff."""
        return cls(release=False, dependency_bump=False, no_source_code=False,
                   branch_sync=False, revert=False, typo_or_format=False, generated_only=False,
                   min_changed_lines=0, max_changed_lines=0)


@dataclass
class GithubConfig:
    """The GitHub API (github.com, Enterprise, or any server speaking it) and how hard to try."""

    api_url: str = "https://api.github.com"
    max_retries: int = 5  # per request, for 5xx answers, dropped connections, secondary limits
    max_failures: int = 20  # per repository, before giving up on it and going on
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    secondary_wait: float = 60.0  # a secondary rate limit without Retry-After


@dataclass
class LLMConfig:
    backend: str = "offline"
    model: str = "gpt-4o-mini"
    base_url: str = ""
    concurrency: int = 8
    timeout: float = 60.0
    max_retries: int = 5
    max_cost: float = 0.0
    context_window: int = 0  # tokens; 0: ask the server, else known OpenAI models
    max_server_failures: int = 5  # failed requests in a row before the run stops (exit 3)
    batch_poll: float = 30.0  # seconds between looks at a submitted Batch API batch
    # USD per million tokens: {"model-name": {"input": 0.15, "output": 0.6}}
    prices: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class EmbedConfig:
    model: str = "all-MiniLM-L6-v2"
    batch_size: int = 64
    # openvino | onnx | onnx-int8 | torch (docs/architecture.md "Embedding backends")
    backend: str = "openvino"
    threads: int = 0  # batches run at once, one thread each; 0 = one per core

    @property
    def vector_model(self) -> str:
        """The store's key for this config's vectors: int8 vectors differ, so they get their own."""
        return f"{self.model}#int8" if self.backend == "onnx-int8" else self.model


@dataclass
class DedupeConfig:
    threshold: float = 0.92


@dataclass
class ClusterConfig:
    k: str = "auto"
    seed: int = 0


@dataclass
class ScoreConfig:
    weights: dict[str, float] = field(default_factory=dict)


@dataclass
class SelectConfig:
    k: int = 78
    method: str = "facility"
    min_quality: float = 0.0
    per_repo_cap: int | str = "auto"  # "auto": at most 40% of k from one repository; 0: no cap
    per_cluster_cap: int = 0
    seed: int = 0
    quality_weight: float = 1.0
    quotas: dict[str, float] = field(default_factory=dict)  # task type → share of k
    neighbours: int = 256  # each candidate's nearest neighbours in the k-NN graph
    sample_above: int = 100_000  # more candidates: facility location on a sample; 0: never
    verified_only: bool = False  # only queries whose PR `prsynth verify` verified


@dataclass
class RunConfig:
    """`prsynth run`, the scheduled job: which steps run and where the outputs go."""

    out_dir: str = ""  # default: prsynth-out/ next to the store
    synth: bool = True  # synthesize requests for new PRs with [llm] (within max_cost)
    prompt: str = "vibe_request"
    select: bool = True
    selection_name: str = "scheduled"  # replaced by each run, so `export selected` finds it
    exports: list[str] = field(default_factory=lambda: ["selected", "queries"])
    format: str = "jsonl"
    report: bool = True


@dataclass
class VerifyConfig:
    """`prsynth verify`: where environments and clones are cached, how tests run."""

    runner: str = "venv"
    timeout: float = 300.0  # seconds per test run, then the run's process group is killed
    jobs: int = 1
    cache_dir: str = ""  # "" = $XDG_CACHE_HOME/prsynth/verify (~/.cache/prsynth/verify)
    python: str = ""  # interpreter the environments are built from ("" = prsynth's own)
    clone_url: str = "https://github.com/{repo}.git"  # for PRs crawled from GitHub
    docker_image: str = "python:{version}-slim"  # --runner docker; {version} e.g. 3.11
    docker_build_network: str = ""  # network of the environment build ("" = Docker's default)


@dataclass
class Config:
    store: str = DEFAULT_STORE
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    github: GithubConfig = field(default_factory=GithubConfig)
    filters: FiltersConfig = field(default_factory=FiltersConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    dedupe: DedupeConfig = field(default_factory=DedupeConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    run: RunConfig = field(default_factory=RunConfig)
    sources: list[SourceConfig] = field(default_factory=list)
    path: str = ""  # the file it was read from, "" for defaults

    def override(self, section: str, **flags: Any) -> Config:
        """A copy with the flags that were given (not None) set in `[section]`.

        The one way command-line flags beat the file: every command resolves its config
        here and passes the result down, so no stage reads defaults of its own.
        """
        given = {key: value for key, value in flags.items() if value is not None}
        if not given:
            return self
        part = dataclasses.replace(getattr(self, section), **given)
        return dataclasses.replace(self, **{section: part})


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read `path` (or ./prsynth.toml when present) and apply environment overrides."""
    explicit = path is not None
    file = Path(path) if explicit else Path(DEFAULT_CONFIG_FILE)
    raw: dict[str, Any] = {}
    if file.is_file():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"config file {file}: not valid TOML ({exc}); fix the syntax"
            ) from None
    elif explicit:
        raise ConfigError(f"config file {file}: not found; pass an existing file to --config")
    config = _build(Config, raw, "")
    if file.is_file():
        config.path = str(file)
    if os.environ.get("PRSYNTH_STORE"):
        config.store = os.environ["PRSYNTH_STORE"]
    return config


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config {where or 'file'}: expected a table; see README 'Configuration'")
    hints = typing.get_type_hints(cls)
    # Config.path records where the file was read from; it is not a key of the file.
    known = {f.name for f in dataclasses.fields(cls) if not (cls is Config and f.name == "path")}
    values = {}
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        if key not in known:
            raise ConfigError(
                f"config key {name!r} is unknown; known keys here: {', '.join(sorted(known))}"
            )
        values[key] = _coerce(hints[key], value, name)
    return cls(**values)


def _coerce(hint: Any, value: Any, name: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, name)
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"config key {name!r} must be a list")
        return [_coerce(item, v, f"{name}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"config key {name!r} must be a table")
        return {str(k): _coerce(item, v, f"{name}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(
            f"config key {name!r} must be {hint.__name__}, got {type(value).__name__} {value!r}"
        )
    return value
