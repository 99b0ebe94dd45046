"""The researcher's HTML report: one self-contained file with the map, clusters and selection.

`report_data` reads everything the page shows from the store into plain data;
`render_report` turns that data into HTML with the Jinja2 template in
`prsynth/outputs/templates/report.html.j2`. The page has no external resources: styles and
scripts are inline, so it opens offline and can be mailed around as one file.

Every text that comes from a PR or a query is untrusted. The template autoescapes
what it prints, and the data for the scripts travels as JSON inside a
`<script type="application/json">` block with `<`, `>` and `&` escaped, read with
`JSON.parse` and put on the page only through `textContent`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from prsynth import __version__
from prsynth.config import Config
from prsynth.errors import MissingStageError
from prsynth.outputs.export import atomic_output, check_output_path
from prsynth.outputs.stats import collect_stats
from prsynth.selection.records import selected_records
from prsynth.store import Store, utcnow

HOVER_CHARS = 280  # query text kept per map point for the hover card
NEAREST_MEMBERS = 5  # members nearest the centroid shown on each cluster card

# Point flags, one integer per point on the map.
DUPLICATE = 1
SELECTED = 2


@dataclass
class ReportData:
    """Everything the page shows, as plain JSON-able data."""

    generated_at: str
    store: str
    points: dict[str, list[Any]]  # columns: id, x, y, cluster, flags, text, pr, title
    clusters: list[dict[str, Any]]
    selected: list[dict[str, Any]]
    selection: dict[str, Any] = field(default_factory=dict)
    funnel: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> str:
        """The data as JSON that is safe inside a <script> element."""
        text = json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))
        return (
            text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        )


def report_data(store: Store, config: Config, selected: list[dict[str, Any]],
                selection: dict[str, Any] | None = None) -> ReportData:
    """Read the map, clusters and funnel from `store`; `selected` are Selected records."""
    assignments = store.clusters()
    if not assignments:
        raise MissingStageError(
            "no clusters yet; run `prsynth select --k 78` (or `prsynth cluster`) first"
        )
    coordinates = store.map_coordinates()
    sources = {s.query_id: s for s in store.query_sources()}
    duplicates = {
        d.query_id: d.representative for group in store.duplicate_groups().values() for d in group
    }
    scores = store.query_scores()
    chosen = {row["query_id"] for row in selected}

    columns = ("id", "x", "y", "cluster", "flags", "text", "pr", "title")
    points: dict[str, list[Any]] = {column: [] for column in columns}
    for query_id in sorted(coordinates):
        source = sources.get(query_id)
        if source is None:
            continue
        represented = duplicates.get(query_id, query_id)
        cluster = assignments.get(represented, assignments.get(query_id, (-1, 0.0)))[0]
        flags = DUPLICATE if query_id in duplicates else 0
        flags |= SELECTED if query_id in chosen else 0
        x, y = coordinates[query_id]
        points["id"].append(query_id)
        points["x"].append(round(float(x), 4))
        points["y"].append(round(float(y), 4))
        points["cluster"].append(cluster)
        points["flags"].append(flags)
        points["text"].append(_clip(source.text, HOVER_CHARS))
        points["pr"].append(source.pr_id)
        points["title"].append(source.title)

    return ReportData(
        generated_at=utcnow(),
        store=str(store.path),
        points=points,
        clusters=_cluster_cards(store, assignments, sources, scores, chosen),
        selected=[_selected_row(row) for row in selected],
        selection=selection or {},
        funnel=_funnel(store, config, len(selected)),
    )


def _cluster_cards(store: Store, assignments: dict[str, tuple[int, float]],
                   sources: dict[str, Any], scores: dict[str, float],
                   chosen: set[str]) -> list[dict[str, Any]]:
    labels = store.cluster_labels()
    members: dict[int, list[tuple[float, str]]] = {}
    for query_id, (cluster, distance) in assignments.items():
        members.setdefault(cluster, []).append((distance, query_id))
    cards = []
    for cluster in sorted(members):
        ranked = sorted(members[cluster])
        ids = [q for _, q in ranked]
        quality = [scores[q] for q in ids if q in scores]
        repos = Counter(sources[q].repo for q in ids if q in sources)
        cards.append({
            "id": cluster,
            "label": labels.get(cluster, ""),
            "size": len(ids),
            "mean_quality": round(sum(quality) / len(quality), 3) if quality else None,
            "repos": [[repo, n] for repo, n in repos.most_common()],
            "selected": [_member(sources[q]) for q in ids if q in chosen and q in sources],
            "nearest": [_member(sources[q]) for q in ids[:NEAREST_MEMBERS] if q in sources],
        })
    return cards


def _member(source: Any) -> dict[str, str]:
    return {"id": source.query_id, "pr": source.pr_id, "text": _clip(source.text, HOVER_CHARS)}


def _selected_row(row: dict[str, Any]) -> dict[str, Any]:
    """The columns of the selected table, from one Selected record."""
    url = str(row.get("pr_url") or "")
    return {
        "rank": row.get("rank"),
        "query_id": row.get("query_id"),
        "query": row.get("query", ""),
        "pr_id": row.get("pr_id", ""),
        # Only web links become clickable; anything else (javascript:, data:) stays text.
        "pr_url": url if url.startswith(("https://", "http://")) else "",
        "repo": row.get("repo", ""),
        "cluster": row.get("cluster"),
        "cluster_label": row.get("cluster_label", ""),
        "quality": row.get("quality"),
        "task_type": row.get("task_type", ""),
        "verify_status": row.get("verify_status", ""),
        "why": row.get("why") or {},
    }


def _funnel(store: Store, config: Config, selected: int) -> dict[str, Any]:
    """What was kept and what was filtered out upstream, and why (as `prsynth stats`)."""
    stats = collect_stats(store, config)
    return {
        "prs": stats["prs"],
        "dropped": stats["dropped"],
        "queries": stats["queries"],
        "duplicates": stats["duplicates"],
        "clusters": stats["clusters"],
        "selected": selected,
    }


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_report(data: ReportData) -> str:
    """The report as one HTML document."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("prsynth.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    template = environment.get_template("report.html.j2")
    return template.render(data=data, payload=data.payload(), version=__version__)


def write_report(data: ReportData, path: str | Path) -> Path:
    """Write the report next to its final name, then rename, so a reader never sees half."""
    check_output_path(path, data.store)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(data).encode("utf-8")
    with atomic_output(path) as handle:
        handle.write(page)
    return path


def build_report(store: Store, config: Config) -> ReportData:
    """The report of the store's latest selection (`prsynth report`)."""
    latest = store.latest_selection()
    if not latest:
        raise MissingStageError("no selection yet; run `prsynth select --k 78` first")
    return report_data(store, config, selected_records(store, latest), latest)
