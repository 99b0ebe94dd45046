"""How the HTML report scales: writing it and opening it in headless Chromium.

    python benchmarks/bench_report.py

Builds report data for 1,000 points (the baseline, run first in the same process) and
for 100,000 points (random clusters, 300 of them, 78 selected), writes each report,
opens it in Debian's Chromium and times launch-load-and-draw (browser start
included, about 1.4 s here) and a cluster filter. Prints the
times, the file size and the 100k/1k ratio of time per point (below 1: the page's
fixed costs dominate; far above 1: something is quadratic).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prsynth.outputs.report import ReportData, write_report  # noqa: E402
from tests.support.browser import chromium_path, open_page  # noqa: E402

CLUSTERS = 300
SELECTED = 78
TEXT = ("Please make the export command write Parquet files with the same fields as the "
        "JSONL export, and say which file it wrote when it finishes. ") * 2


def fake_report(n: int, seed: int = 0) -> ReportData:
    rng = random.Random(seed)
    columns = ("id", "x", "y", "cluster", "flags", "text", "pr", "title")
    points: dict[str, list] = {c: [] for c in columns}
    for i in range(n):
        cluster = rng.randrange(CLUSTERS)
        points["id"].append(f"org{cluster}/repo#{i}/vibe_request/offline-baseline")
        points["x"].append(round(rng.gauss(cluster % 17, 1.0), 4))
        points["y"].append(round(rng.gauss(cluster // 17, 1.0), 4))
        points["cluster"].append(cluster)
        points["flags"].append(2 if i < SELECTED else (1 if i % 10 == 0 else 0))
        points["text"].append(TEXT[:280])
        points["pr"].append(f"org{cluster}/repo#{i}")
        points["title"].append("Add Parquet export for queries")
    cards = [
        {"id": c, "label": "export / parquet / jsonl", "size": n // CLUSTERS, "mean_quality": 0.5,
         "repos": [["org/repo", n // CLUSTERS]], "selected": [], "nearest": []}
        for c in range(CLUSTERS)
    ]
    return ReportData("benchmark", "benchmark.db", points, cards, [], {}, {"prs": n})


def measure(n: int, folder: Path) -> dict[str, float]:
    started = time.perf_counter()
    path = write_report(fake_report(n), folder / f"report-{n}.html")
    written = time.perf_counter() - started
    started = time.perf_counter()
    with open_page(path) as (page, errors):
        assert page.locator("#map").get_attribute("data-visible") == str(n), errors
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        page.locator("#clusters .card").nth(5).click()
        filtered = time.perf_counter() - started
        assert not errors, errors
    return {"write_s": written, "open_s": loaded, "filter_s": filtered,
            "mb": path.stat().st_size / 1e6}


def main() -> None:
    if not chromium_path():
        sys.exit("Chromium is missing: apt-get install -y chromium (or set PRSYNTH_CHROMIUM)")
    with tempfile.TemporaryDirectory() as tmp:
        base = measure(1_000, Path(tmp))
        big = measure(100_000, Path(tmp))
    for n, row in ((1_000, base), (100_000, big)):
        print(f"{n:>7,} points: write {row['write_s']:.2f} s, open+draw {row['open_s']:.2f} s, "
              f"cluster filter {row['filter_s']:.2f} s, {row['mb']:.1f} MB")
    ratio = (big["open_s"] / 100_000) / (base["open_s"] / 1_000)
    print(f"open time per point, 100k vs 1k baseline: {ratio:.3f}x")


if __name__ == "__main__":
    main()
