"""Quality of `select --k 78` on real data: the bundled demo sample and three real histories.

    python benchmarks/bench_quality.py [--bundles DIR] [--skip-bundles]

Each run crawls (or imports), writes requests with the offline baseline, and selects 78
exactly as `prsynth demo` does, then prints, for the 78 chosen:

- the share that pass the task filters (re-checked on each chosen PR with the default
  `[filters]`);
- e-mail addresses and commit trailers found in the chosen requests;
- the share with a test patch, and with a test patch that names a changed symbol;
- coverage of the candidate pool under a second embedding computed here (TF-IDF over
  word unigrams and bigrams, no download), against random choices of 78 (mean of 20
  draws) and against plain greedy facility location (coverage only, no quality, no
  caps, on the MiniLM vectors) — both baselines run in the same process;
- the ceiling: greedy facility location run on the second embedding itself, against
  the same random draws (no selection can beat it by much under that embedding);
- the task-type mix.

The bundles are the git bundles of pallets/jinja, tiangolo/typer and sindresorhus/ky
(`../shared/repos` by default; see data/README.md); they are cloned into a temporary
folder with their `refs/pull/*`.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prsynth.config import Config  # noqa: E402
from prsynth.crawl.filters import default_filters, first_drop_reason  # noqa: E402
from prsynth.crawl.run import crawl_git, crawl_import  # noqa: E402
from prsynth.llm.offline import OfflineBaseline  # noqa: E402
from prsynth.resources import sample_prs_path  # noqa: E402
from prsynth.selection.methods import coverage, facility_location  # noqa: E402
from prsynth.selection.run import gather_candidates, select_queries  # noqa: E402
from prsynth.stages.synth import SynthOptions, synthesize  # noqa: E402
from prsynth.store import Store  # noqa: E402
from prsynth.text.diffs import split_patch  # noqa: E402
from prsynth.text.testlinks import static_verifiability  # noqa: E402

K = 78
DRAWS = 20
BUNDLES = (("pallets+jinja", "pallets/jinja"), ("tiangolo+typer", "tiangolo/typer"),
           ("sindresorhus+ky", "sindresorhus/ky"))
EMAIL_OR_TRAILER = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?i:co-authored-by|signed-off-by|reviewed-by):")
TOKEN = re.compile(r"[a-z_][a-z0-9_]+")


def tfidf(texts: list[str]) -> np.ndarray:
    """L2-normalized TF-IDF rows over word unigrams and bigrams (sublinear tf, smooth idf)."""
    docs = []
    for text in texts:
        words = TOKEN.findall(text.lower())
        docs.append(Counter(words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]))
    df = Counter(term for doc in docs for term in doc)
    vocab = {term: i for i, term in enumerate(t for t, n in df.items() if n >= 2)}
    matrix = np.zeros((len(texts), len(vocab)), dtype=np.float32)
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            if term in vocab:
                idf = math.log((1 + len(texts)) / (1 + df[term])) + 1
                matrix[row, vocab[term]] = (1 + math.log(count)) * idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1)


def measure(store: Store, label: str) -> dict[str, object]:
    config = Config(store=str(store.path))
    result = select_queries(store, config.override("select", k=K))
    records = result.records
    pool = gather_candidates(store, config, 0.0)
    chain = default_filters()
    tasks = sum(1 for r in records if not first_drop_reason(store.get_pr(r["pr_id"]), chain))
    personal = sum(1 for r in records if EMAIL_OR_TRAILER.search(r["query"]))
    with_tests = sum(1 for r in records if r["test_patch"])
    linked = sum(1 for r in records
                 if static_verifiability(*split_patch(store.get_pr(r["pr_id"]).diff))[0] == 1.0)
    texts = {q.id: q.query for q in store.iter_queries()}
    second = tfidf([texts[q] for q in pool.ids])
    index = {q: i for i, q in enumerate(pool.ids)}
    chosen = [index[r["query_id"]] for r in records]
    rng = np.random.default_rng(0)
    random = float(np.mean([coverage(second, rng.choice(len(pool.ids), K, replace=False))
                            for _ in range(DRAWS)]))
    greedy = [p.index for p in facility_location(pool.vectors, np.zeros(len(pool.ids)), K,
                                                 quality_weight=0.0)]
    # The ceiling: greedy facility location run on the second embedding itself. When
    # k is a large share of the pool, even it stays close to random.
    ceiling = coverage(second, [p.index for p in facility_location(
        second, np.zeros(len(pool.ids)), K, quality_weight=0.0)])
    covered = coverage(second, chosen)
    plain = coverage(second, greedy)
    mix = Counter(r["task_type"] or "unknown" for r in records)
    print(f"\n== {label}: {store.count_prs()} task-worthy PRs stored, {len(pool.ids)} candidates,"
          f" {len(records)} selected")
    print(f"  pass the task filters        {tasks}/{len(records)} ({tasks / len(records):.0%})")
    print(f"  e-mails/trailers in requests {personal}")
    print(f"  with a test patch            {with_tests}/{len(records)} "
          f"({with_tests / len(records):.0%}); tests name a changed symbol: {linked}")
    print(f"  TF-IDF coverage              {covered:.4f} = {covered / random:.3f}x random "
          f"({random:.4f}), {covered / plain:.3f}x plain greedy ({plain:.4f})")
    print(f"  TF-IDF ceiling               greedy on TF-IDF itself {ceiling / random:.3f}x random"
          f" (k = {K / len(pool.ids):.0%} of the pool)")
    print(f"  MiniLM coverage vs random    {result.summary['coverage_vs_random']:+.1%}")
    print("  task types                   " + ", ".join(f"{t} {n}" for t, n in mix.most_common()))
    return {"tasks": tasks, "personal": personal, "with_tests": with_tests,
            "vs_random": covered / random, "vs_plain": covered / plain,
            "ceiling_vs_random": ceiling / random}


def demo_sample(work: Path) -> dict[str, object]:
    with Store(work / "demo.db") as store:
        crawl_import(store, sample_prs_path())
        synthesize(store, OfflineBaseline(), SynthOptions())
        return measure(store, "demo sample (data/sample_prs.jsonl)")


def bundles(work: Path, folder: Path) -> dict[str, object] | None:
    missing = [stem for stem, _ in BUNDLES if not (folder / f"{stem}.bundle").is_file()]
    if missing:
        print(f"\n== bundles: not found in {folder} ({', '.join(missing)}); pass --bundles DIR")
        return None
    with Store(work / "bundles.db") as store:
        for stem, repo in BUNDLES:
            bundle, clone = folder / f"{stem}.bundle", work / stem
            subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True)
            subprocess.run(["git", "-C", str(clone), "fetch", "-q", str(bundle),
                            "refs/pull/*:refs/pull/*"], check=True)
            print(crawl_git(store, clone, repo).summary())
        synthesize(store, OfflineBaseline(), SynthOptions())
        return measure(store, "three bundles (all merged PRs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=Path, default=ROOT.parent / "shared" / "repos")
    parser.add_argument("--skip-bundles", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [demo_sample(Path(tmp))]
        if not args.skip_bundles:
            found = bundles(Path(tmp), args.bundles)
            if found:
                results.append(found)
    print("\ndone when: >= 95% task-worthy, 0 e-mails/trailers, >= 85% with a test patch,"
          " coverage >= 1.10x random")
    for result in results:
        ok = (result["tasks"] >= 0.95 * K and result["personal"] == 0
              and result["with_tests"] >= 0.85 * K and result["vs_random"] >= 1.10)
        print(f"  {'met' if ok else 'NOT met'}: {result}")


if __name__ == "__main__":
    main()
