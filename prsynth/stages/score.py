"""A quality score in [0, 1] per query from named features a researcher can read and reweight.

Each feature maps one signal of the request, its PR or its repository to [0, 1]; the
score is their weighted mean. Weights come from `[score] weights` in the config or a
TOML file (`--weights FILE`); an optional LLM judge rating (`prsynth score --judge`)
is one more feature, counted only for queries that have a rating.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prsynth.config import Config
from prsynth.errors import ConfigError
from prsynth.progress import Progress
from prsynth.store import Store, fingerprint
from prsynth.store.queries import ScoreInput
from prsynth.text.diffs import is_test_path, split_patch
from prsynth.text.leakage import approach_leakage
from prsynth.text.testlinks import static_verifiability

log = logging.getLogger(__name__)

# Bumped whenever a feature's definition changes, so stored scores become stale.
SCORE_VERSION = 2


@dataclass(frozen=True)
class Feature:
    name: str
    weight: float
    meaning: str


# Request-side features (what the agent is asked, and whether it can be checked) weigh
# more than PR-side priors (stars, license, size): a poor request from a famous
# repository must not outrank a good one (docs/architecture.md, "Quality score").
FEATURES: dict[str, Feature] = {f.name: f for f in [
    Feature("length", 1.0, "request length in a useful band: 1 for 15-150 words, less outside"),
    Feature("specificity", 2.0, "concrete references (code, paths, flags, names, versions): "
            "1 from three on"),
    Feature("actionable", 1.0, "asks for a change (add, fix, make, should, ...): 1, else 0"),
    Feature("self_contained", 1.5, "no references to unseen context ('this PR', 'as discussed',"
            " '#123'): 1, 0.5 for one, 0 for more"),
    Feature("leakage", 2.5, "1 - solution leakage: the larger of synthesis' measure (new "
            "identifiers, pasted lines) and the share of a solution-stating title's approach "
            "words the request repeats"),
    Feature("test_match", 2.0, "static verifiability: the test patch names a changed symbol 1, "
            "only a changed module 0.6, neither 0.3, no test patch 0"),
    Feature("difficulty", 1.0, "synthesis' difficulty: hard 1, medium 0.7, easy 0.3, unknown 0.5"),
    Feature("touches_tests", 0.5, "the PR changes tests at all: 1, else 0"),
    Feature("diff_size", 0.5, "changed lines in a useful band: 1 for 10-400, less outside"),
    Feature("multi_file", 0.25, "non-test files changed: 1 for 2-20, 0.5 for 1 or more than 20"),
    Feature("described", 0.25, "the PR has a description or a linked issue: 1, short text 0.5"),
    Feature("stars", 0.1, "repository stars, log scale: 1 from 1,000 on"),
    Feature("license", 0.1, "repository license: permissive 1, other known 0.5, none 0"),
    Feature("language", 0.5, "the request is written in English: share of ASCII letters, "
            "halved without English words"),
    Feature("judge", 3.0, "LLM judge: mean of its 1-5 rubric (realism, specificity, agreement, "
            "verifiability, no leakage), or its 1-10 rating, mapped to 0-1 (after "
            "`score --judge`)"),
]}
REQUEST_SIDE = ("length", "specificity", "actionable", "self_contained", "leakage", "test_match",
                "language", "judge")
PR_PRIORS = ("stars", "license")

PERMISSIVE = frozenset({
    "mit", "apache-2.0", "bsd-2-clause", "bsd-3-clause", "isc", "mpl-2.0", "unlicense", "0bsd",
    "zlib", "python-2.0", "psf-2.0", "bsl-1.0", "cc0-1.0", "artistic-2.0", "postgresql",
})
UNKNOWN_LICENSES = frozenset({"", "other", "noassertion", "none", "unknown"})
WORDS = re.compile(r"\S+")
SPECIFIC = re.compile(
    r"`[^`]+`"                                   # inline code
    r"|(?<!\w)--?[a-z][\w-]+"                    # command-line flags
    r"|\b[\w.-]+/[\w./-]+"                       # paths
    r"|\b\w+\.(?:py|js|ts|go|rs|c|h|cpp|java|rb|md|toml|yaml|yml|json|cfg|ini|sh)\b"
    r"|\b[a-z]+_[a-z0-9_]+\b"                    # snake_case
    r"|\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b"  # camelCase, CamelCase
    r"|\b\w+\(\)"                                # calls
    r"|\b\d+(?:\.\d+)+\b"                        # versions
    r"|\b[A-Z]\w*(?:Error|Exception)\b",
)
ACTIONABLE = re.compile(
    r"\b(add|fix|make|change|update|remove|support|implement|refactor|rename|handle|allow|"
    r"improve|replace|move|write|document|drop|avoid|speed|stop|ensure|use|let|expose|name|"
    r"show|return|raise|log|print|reject|validate|clamp|check|keep|skip|limit|cache|retry|"
    r"convert|parse|report|accept|respect|include|exclude|warn|honou?r|migrate|split|merge|"
    r"extract|bump|upgrade|port|optimi[sz]e|reduce|increase|set|default|"
    r"should|shouldn't|must|can you|could you|please|need|needs|want)\b",
    re.IGNORECASE,
)
UNSEEN_CONTEXT = re.compile(
    r"\b(this|the|that) (pr|pull request|diff|patch|commit)\b|\bas discussed\b|\bsee above\b"
    r"|\b(the )?attached\b|\bmentioned (above|earlier)\b|\bwe talked\b|(?<![\w/])#\d+\b"
    r"|\blike before\b|\bsame as last time\b",
    re.IGNORECASE,
)
ENGLISH = re.compile(r"\b(the|a|an|to|and|of|in|is|it|for|when|should|so|with|that)\b",
                     re.IGNORECASE)
DIFFICULTY = {"easy": 0.3, "medium": 0.7, "hard": 1.0}


def _band(value: float, low: float, high: float, far: float) -> float:
    """1 inside [low, high]; linear up to low; falls to 0 at `far` (log scale) above high."""
    if value < low:
        return max(0.0, value / low)
    if value <= high:
        return 1.0
    return max(0.0, 1.0 - math.log(value / high) / math.log(far / high))


def features_of(item: ScoreInput, rating: int | None = None,
                test_match: float | None = None) -> dict[str, float]:
    """Every feature's value in [0, 1] for one query (`judge` only when it has a rating,
    `test_match` only when the PR's diff was read)."""
    text = item.query
    words = len(WORDS.findall(text))
    unseen = len(UNSEEN_CONTEXT.findall(text))
    letters = [c for c in text if c.isalpha()]
    ascii_share = sum(c.isascii() for c in letters) / len(letters) if letters else 0.0
    leakage = max(float(item.fields.get("leakage") or 0.0),
                  approach_leakage(text, item.title)[0])
    paths = [str(f.get("path", "")) for f in item.files]
    code_files = sum(1 for p in paths if not is_test_path(p))
    body = item.body.strip()
    stars = max(0, int(item.stars or 0))
    license_id = (item.license or "").strip().lower()
    values = {
        "length": _band(words, 15, 150, 1000),
        "specificity": min(1.0, len(SPECIFIC.findall(text)) / 3),
        "actionable": 1.0 if ACTIONABLE.search(text) else 0.0,
        "self_contained": max(0.0, 1.0 - 0.5 * unseen),
        "leakage": 1.0 - min(1.0, max(0.0, float(leakage))),
        "difficulty": DIFFICULTY.get(str(item.fields.get("difficulty", "")).lower(), 0.5),
        "touches_tests": 1.0 if any(is_test_path(p) for p in paths) else 0.0,
        "diff_size": _band(item.additions + item.deletions, 10, 400, 10_000),
        "multi_file": 0.0 if code_files == 0 else 1.0 if 2 <= code_files <= 20 else 0.5,
        "described": 1.0 if len(body) >= 40 or item.linked_issues else 0.5 if body else 0.0,
        "stars": min(1.0, math.log10(stars + 1) / 3),
        "license": 0.0 if license_id in UNKNOWN_LICENSES
        else 1.0 if license_id in PERMISSIVE else 0.5,
        "language": ascii_share * (1.0 if ENGLISH.search(text) else 0.5),
    }
    if test_match is not None:
        values["test_match"] = test_match
    if rating is not None:
        values["judge"] = (min(10, max(1, int(rating))) - 1) / 9
    return {name: round(values[name], 4) for name in FEATURES if name in values}


def check_weights(weights: Mapping[str, Any], where: str) -> dict[str, float]:
    """Validate feature weights: known names, finite numbers ≥ 0."""
    checked = {}
    for name, weight in weights.items():
        if name not in FEATURES:
            raise ConfigError(
                f"{where}: unknown feature {name!r}; features are {', '.join(FEATURES)}"
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not math.isfinite(weight) or weight < 0:
            raise ConfigError(f"{where}: weight of {name!r} must be a number ≥ 0, got {weight!r}")
        checked[name] = float(weight)
    return checked


def load_weights_file(path: str | Path) -> dict[str, float]:
    """Weights from a TOML file: `feature = weight` lines, or a `[weights]` or
    `[score.weights]` table (so a prsynth.toml works too)."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"weights file {file}: not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"weights file {file}: not valid TOML ({exc})") from None
    if isinstance(raw.get("score"), dict):
        raw = raw["score"].get("weights", {})
    elif isinstance(raw.get("weights"), dict):
        raw = raw["weights"]
    return check_weights(raw, f"weights file {file}")


def resolve_weights(overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Default weights with `overrides` (config `[score] weights`, a file) applied."""
    weights = {name: feature.weight for name, feature in FEATURES.items()}
    weights.update(check_weights(overrides or {}, "[score] weights"))
    return weights


def quality(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted mean of the features present: a score in [0, 1]."""
    total = sum(weights[name] for name in values)
    if total <= 0:
        return 0.0
    return round(sum(weights[name] * value for name, value in values.items()) / total, 4)


def judge_ratings(store: Store) -> dict[str, int]:
    """query id → judge rating, for the queries `score --judge` rated."""
    return {query_id: int(rating[0]) for query_id, rating in store.judge_ratings().items()}


@dataclass
class ScoreReport:
    queries: int
    mean: float
    judged: int
    weights: dict[str, float]
    bands: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        judged = f"; {self.judged} with a judge rating" if self.judged else ""
        return f"scored {self.queries} queries, mean quality {self.mean:.3f}{judged}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries, "mean_quality": self.mean, "judged": self.judged,
            "weights": self.weights, "histogram": self.bands,
        }


@dataclass
class ScoreStage:
    """A quality score per query from the features above, weighted by `[score] weights`."""

    name: str = "score"
    reads: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()

    def fingerprint(self, store: Store, config: Config) -> str:
        """Queries, their PRs, judge ratings, the weights and the feature definitions."""
        inputs = [item.key() for item in store.score_inputs()]
        return fingerprint(
            SCORE_VERSION, sorted(resolve_weights(config.score.weights).items()),
            fingerprint(inputs), sorted(judge_ratings(store).items()),
        )

    def run(self, store: Store, config: Config, progress: Progress) -> ScoreReport:
        weights = resolve_weights(config.score.weights)
        items = store.score_inputs()
        ratings = judge_ratings(store)
        links: dict[str, float] = {}
        rows = []
        for done, item in enumerate(items, 1):
            if item.pr_id not in links:
                links[item.pr_id] = pr_test_match(store, item.pr_id)[0]
            values = features_of(item, ratings.get(item.query_id), links[item.pr_id])
            rows.append((item.query_id, quality(values, weights), values))
            if done % 1000 == 0 or done == len(items):
                progress(self.name, done, len(items))
        scores = [q for _, q, _ in rows]
        bands = {f"{b / 10:.1f}": 0 for b in range(10)}
        for q in scores:
            bands[f"{min(9, int(q * 10)) / 10:.1f}"] += 1
        store.replace_scores(rows)
        return ScoreReport(
            queries=len(rows), mean=round(sum(scores) / len(scores), 4),
            judged=sum(1 for item in items if item.query_id in ratings), weights=weights,
            bands=bands,
        )


def explain(
    store: Store, query_id: str, weights: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Each feature's value, weight and contribution to one query's score."""
    weights = resolve_weights(weights)
    item = next((i for i in store.score_inputs() if i.query_id == query_id), None)
    if item is None:
        raise ConfigError(
            f"query {query_id!r} does not exist; list query ids with `prsynth export queries`"
        )
    match, names = pr_test_match(store, item.pr_id)
    values = features_of(item, judge_ratings(store).get(query_id), match)
    total = sum(weights[name] for name in values) or 1.0
    rows = [
        {
            "feature": name, "value": value, "weight": weights[name],
            "contribution": round(weights[name] * value / total, 4),
            "meaning": FEATURES[name].meaning,
        }
        for name, value in values.items()
    ]
    stored = store.query_score(query_id)
    leaked = approach_leakage(item.query, item.title)
    judged = store.judge_ratings().get(query_id)
    return {
        "query_id": query_id, "query": item.query, "quality": quality(values, weights),
        "stored_quality": stored[0] if stored else None, "features": rows,
        "evidence": {
            "test_match": names, "approach_words_repeated": leaked[1],
            "identifiers_leaked": list(item.fields.get("leaked") or []),
            "judge_reason": judged[1] if judged else "",
        },
    }


def pr_test_match(store: Store, pr_id: str) -> tuple[float, list[str]]:
    """Static verifiability of a PR (see `static_verifiability`), from its stored diff."""
    pr = store.get_pr(pr_id)
    if pr is None:
        return 0.0, []
    return static_verifiability(*split_patch(pr.diff))
