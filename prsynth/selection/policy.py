"""Selection policy beside the algorithm: the default per-repository cap, task-type
quotas, and the readable `why` of each pick (docs/architecture.md, "Selection")."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from prsynth.errors import ConfigError

AUTO = "auto"
# With the cap on "auto", one repository holds at most this share of k, unless the
# candidates leave no other way to reach k.
AUTO_REPO_SHARE = 0.4
OTHER_TYPES = "other"


def auto_repo_cap(repos: Sequence[str], k: int) -> int:
    """The default cap: `AUTO_REPO_SHARE` of k, raised just enough that the candidates'
    repositories can still give k items; 0 (no cap) for a single repository."""
    sizes = sorted(Counter(repos).values())
    if len(sizes) <= 1:
        return 0
    cap = math.ceil(AUTO_REPO_SHARE * k)
    while sum(min(size, cap) for size in sizes) < k and cap < max(sizes):
        cap += 1
    return cap


def repo_cap(setting: int | str, repos: Sequence[str], k: int) -> int:
    """The per-repository cap a run uses: `auto_repo_cap` for "auto", else the number."""
    if setting == AUTO:
        return auto_repo_cap(repos, k)
    try:
        return int(setting)
    except (TypeError, ValueError):
        raise ConfigError(
            f"--per-repo-cap {setting!r} must be {AUTO!r} or a number (0: no cap)") from None


def parse_quotas(text: str | Mapping[str, Any] | None) -> dict[str, float]:
    """`bugfix=0.4,feature=0.4` (the flag) or a table (config) → {task type: share of k}."""
    if not text:
        return {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(text, str):
        for part in text.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ConfigError(
                    f"--quota {text!r}: write TYPE=SHARE pairs, e.g. bugfix=0.4,feature=0.4")
            pairs.append((name.strip(), value.strip()))
    else:
        pairs = list(text.items())
    quotas = {}
    for name, value in pairs:
        try:
            share = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"quota of {name!r} must be a number in [0, 1], got {value!r}") \
                from None
        if not 0.0 <= share <= 1.0:
            raise ConfigError(f"quota of {name!r} must be in [0, 1], got {share}")
        quotas[name] = share
    if sum(quotas.values()) > 1.0 + 1e-9:
        raise ConfigError(f"quotas add up to {sum(quotas.values()):.2f}; they must stay ≤ 1")
    return quotas


def quota_groups(types: Sequence[str], quotas: Mapping[str, float], k: int
                 ) -> tuple[np.ndarray, dict[int, int], list[str]]:
    """Group codes per item and the most items per group: each listed type gets
    round(share × k) items and the unlisted types share what is left, so when the
    candidates allow it the selection meets every quota exactly."""
    names = sorted(quotas) + [OTHER_TYPES]
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index.get(t, index[OTHER_TYPES]) for t in types], dtype=np.int64)
    caps = {index[name]: round(share * k) for name, share in quotas.items()}
    caps[index[OTHER_TYPES]] = max(0, k - sum(caps.values()))
    return codes, caps, names


def why_sentence(item: Mapping[str, Any], *, covers: int, candidates: int, label: str,
                 quality_rank: int, method: str) -> str:
    """One readable sentence for a pick: what it stands for, how good it is, what won it."""
    why = item.get("why", {})
    share = f"{covers} of {candidates} candidate requests"
    topic = f" about {label}" if label else ""
    top = max(1, math.ceil(100 * quality_rank / max(candidates, 1)))
    quality = f"quality {item['quality']:.2f} (top {top}%)"
    if why.get("pinned"):
        return f"Pinned by hand; it is the closest pick for {share}{topic}, {quality}."
    if method == "facility":
        coverage_gain = float(why.get("coverage_gain", 0.0))
        quality_gain = float(why.get("quality_gain", 0.0))
        lead = ("mostly for the ground it covers" if coverage_gain >= quality_gain
                else "mostly for its quality")
        return (f"Chosen {lead}: it is the closest pick for {share}{topic} that earlier "
                f"picks covered less well; {quality}.")
    tail = f"closest pick for {share}{topic}, {quality}."
    if method == "mmr":
        return f"Chosen as good and unlike the earlier picks; {tail}"
    if method == "kcenter":
        return f"Chosen as the candidate farthest from the earlier picks; {tail}"
    return f"Drawn at random (baseline); {tail}"
