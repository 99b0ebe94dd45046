"""prsynth side by side with its peers, on one machine, in one run.

    pip install -e '.[bench]'          # PyDriller and apricot-select (not installed by CI)
    python benchmarks/bench_vs_peers.py [--bundle ../shared/repos/pallets+jinja.bundle]
        [--texts 3000] [--select-n 10000] [--million] [--rounds 2] [--backend onnx]

Every measurement runs in a fresh child process (so "peak" is that job's own peak RSS
and "cold" means cold), prsynth and the peer alternating, `--rounds` times each; the
medians are printed with their ratio:

- git mining: `crawl_git` (PR detection, diffs, filters, redaction, SQLite) against
  PyDriller reading the same PRs (the merge commit, then `Git.diff(base, head)` with every
  file's patch), on a clone of a real bundle. Neither side's imports are timed; PyDriller
  is not timed for PR detection either (prsynth is). prsynth diffs every PR and stores
  those its task filters keep. The floor printed under it is git alone diffing the same
  PRs in one process;
- embedding: the embed stage (default backend, stored) against a plain
  `SentenceTransformer.encode(batch_size=64)` on the offline requests made from the
  bundle's PRs, with top-10 neighbour and duplicate-pair agreement between the two;
- selection: facility location k=78 against apricot's FacilityLocationSelection
  (cosine, lazy greedy) on --select-n clustered vectors, both scored with one objective;
- cold `select --k 78` on --texts requests (embed, score, dedupe, cluster, select);
- with --million: `select`'s facility location on 1,000,000 x 384 float16 vectors
  (sampled), its summaries and exact objective, and the same method against dense
  greedy at 10,000.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_BUNDLE = ROOT.parent / "shared" / "repos" / "pallets+jinja.bundle"
K = 78


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (git), user and system: less
    sensitive than wall time to other jobs on a shared machine. Children still running
    (GitPython's persistent `cat-file`) are not counted."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                           resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def clone(bundle: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bundle), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "fetch", "-q", str(bundle),
                    "refs/pull/*:refs/pull/*"], check=True)
    return into


# --- jobs (each runs in its own process and returns a dict) -------------------------

def job_crawl(path: str, store: str) -> dict[str, Any]:
    from prsynth.crawl.run import crawl_git
    from prsynth.store import Store

    started, cpu = time.perf_counter(), cpu_seconds()  # as for PyDriller: imports not counted
    with Store(store) as opened:
        report = crawl_git(opened, path, "bench/repo", include_bots=True)
    return {"seconds": time.perf_counter() - started, "cpu": cpu_seconds() - cpu,
            "prs": report.new, "diffed": report.new + sum(report.skipped.values()),
            "peak": peak_mb()}


def job_pydriller(path: str) -> dict[str, Any]:
    from pydriller import Git

    from prsynth.sources.local_git import LocalGitSource

    commits = LocalGitSource(path, "bench/repo").pr_commits()  # PR detection is not timed
    started_walk, cpu = time.perf_counter(), cpu_seconds()
    git = Git(path)
    size = 0
    for pr in commits:
        commit = git.get_commit(pr.merge_sha)
        size += len(commit.msg) + len(commit.author.name)
        for changed in git.diff(pr.base_sha, pr.head_sha):
            size += len(changed.diff) + changed.added_lines + len(changed.filename)
    walk = time.perf_counter() - started_walk  # imports and PR detection not counted
    return {"seconds": walk, "cpu": cpu_seconds() - cpu, "prs": len(commits),
            "bytes": size, "peak": peak_mb()}


def job_git_floor(path: str) -> dict[str, Any]:
    """The floor under any miner of these PRs: git itself diffing every PR (base -> head)
    in one `diff-tree` process, without reading the history or storing anything."""
    from prsynth.sources.git_diffs import DIFF_TREE
    from prsynth.sources.local_git import LocalGitSource

    commits = LocalGitSource(path, "bench/repo").pr_commits()
    pairs = "".join(f"{c.head_sha} {c.base_sha}\n" for c in commits).encode()
    started = time.perf_counter()
    out = subprocess.run(list(DIFF_TREE), input=pairs, cwd=path, capture_output=True,
                         check=True).stdout
    return {"seconds": time.perf_counter() - started, "bytes": len(out)}


def job_make_requests(path: str, store: str, texts: int) -> dict[str, Any]:
    """Crawl + offline synthesis; more requests than PRs come from rephrased copies."""
    from prsynth.config import Config
    from prsynth.crawl.run import crawl_git
    from prsynth.llm import make_backend
    from prsynth.records import Query
    from prsynth.stages.synth import SynthOptions, synthesize
    from prsynth.store import Store

    with Store(store) as opened:
        crawl_git(opened, path, "bench/repo", include_bots=True)
        synthesize(opened, make_backend(Config().llm, llm="offline"), SynthOptions())
        queries = list(opened.iter_queries())
        lead = ["", "Quick one: ", "When you have a minute, ", "Follow-up: ", "Next task: ",
                "Could you take this? ", "Hey, ", "Small change: ", "For the release: ",
                "One more thing: ", "Before Friday, ", "Low priority: ", "Urgent: ",
                "From the issue tracker: ", "As discussed, "]  # up to 15x the PRs
        made = len(queries)
        for round_ in range(1, len(lead)):
            for query in queries:
                if made >= texts:
                    break
                opened.put_query(Query(**{**query.__dict__, "id": f"{query.id}-v{round_}",
                                          "query": lead[round_] + query.query}))
                made += 1
        return {"requests": opened.count_queries()}


def job_prsynth_embed(store: str, backend: str) -> dict[str, Any]:
    from prsynth.config import Config
    from prsynth.stages.registry import run_stage
    from prsynth.store import Store

    config = Config().override("embed", backend=backend or None)
    with Store(store) as opened:
        with opened.transaction() as db:
            db.execute("DELETE FROM embeddings")
        started = time.perf_counter()
        report = run_stage(opened, config, "embed")
        seconds = time.perf_counter() - started
        ids, vectors = opened.query_vectors(report.model)
    np.save(store + ".prsynth.npy", vectors)
    return {"seconds": seconds, "texts": report.embedded, "peak": peak_mb(),
            "runtime": report.runtime}


def job_plain_encode(store: str) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from prsynth.stages.embed import DEFAULT_MODEL, resolve_model
    from prsynth.store import Store, text_hash

    with Store(store) as opened:
        sources = opened.query_sources()
    unique = list({text_hash(s.text): s.text for s in sources}.values())
    model = SentenceTransformer(resolve_model(DEFAULT_MODEL), device="cpu")
    started = time.perf_counter()
    vectors = model.encode(unique, batch_size=64, convert_to_numpy=True)
    seconds = time.perf_counter() - started
    index = {text_hash(t): i for i, t in enumerate(unique)}
    ordered = vectors[[index[text_hash(s.text)] for s in sorted(sources, key=lambda s: s.query_id)]]
    np.save(store + ".plain.npy", ordered)
    return {"seconds": seconds, "texts": len(unique), "peak": peak_mb()}


def job_cold_select(store: str) -> dict[str, Any]:
    started = time.perf_counter()
    from prsynth.config import Config
    from prsynth.selection.run import select_queries
    from prsynth.store import Store

    with Store(store) as opened:
        with opened.transaction() as db:  # cold: no vectors and no stage results
            db.execute("DELETE FROM embeddings")
            db.execute("DELETE FROM stages")
        result = select_queries(opened, Config().override("select", k=K))
    return {"seconds": time.perf_counter() - started, "selected": len(result.records),
            "peak": peak_mb()}


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    from benchmarks.bench_select import clustered as make

    return make(n, seed)


def job_prsynth_select(n: int) -> dict[str, Any]:
    from prsynth.selection.methods import facility_location, facility_objective

    vectors, quality = clustered(n)
    base = peak_mb()
    started = time.perf_counter()
    chosen = [p.index for p in facility_location(vectors, quality, K, quality_weight=0.0)]
    seconds = time.perf_counter() - started
    objective = facility_objective(vectors, quality, chosen, 0.0) if n <= 200_000 else None
    return {"seconds": seconds, "objective": objective, "peak": peak_mb(), "data_peak": base}


def job_million(n: int, quality_weight: float) -> dict[str, Any]:
    """`select`'s facility location (sampled above `[select] sample_above`) on n float16
    vectors generated in blocks, then the summaries `select` prints (coverage, random
    baseline, covers), and the exact objective."""
    from benchmarks.bench_select import clustered_half
    from prsynth.selection.methods import (
        facility_objective,
        nearest_picks,
        random_coverage,
        select_diverse,
    )

    vectors, quality = clustered_half(n)
    base = peak_mb()
    started = time.perf_counter()
    chosen = [p.index for p in select_diverse("facility", vectors, quality, K,
                                              quality_weight=quality_weight)]
    seconds = time.perf_counter() - started
    nearest_picks(vectors, chosen), random_coverage(vectors, K)  # what select adds
    summary = time.perf_counter() - started - seconds
    return {"seconds": seconds, "summary": summary, "peak": peak_mb(), "data_peak": base,
            "objective": facility_objective(vectors, quality, chosen, quality_weight),
            "load": os.getloadavg()[0]}


def job_sampled_vs_dense(n: int, quality_weight: float) -> dict[str, Any]:
    """The sampled method at n (clients and facilities scaled from the 1M defaults by
    sqrt(n / 1M), the same clients per cluster of the generator) against dense greedy."""
    from benchmarks.bench_select import dense_greedy
    from prsynth.selection.methods import facility_objective
    from prsynth.selection.sampled import FACILITIES, SAMPLE, sampled_facility_location

    vectors, quality = clustered(n)
    scale = (n / 1_000_000) ** 0.5
    sample, facilities = int(SAMPLE * scale), int(FACILITIES * scale)
    chosen = [p.index for p in sampled_facility_location(
        vectors, quality, K, quality_weight=quality_weight, sample=sample,
        facilities=facilities)]
    dense = dense_greedy(vectors, quality, K, quality_weight)
    return {"ratio": facility_objective(vectors, quality, chosen, quality_weight)
            / facility_objective(vectors, quality, dense, quality_weight),
            "sample": sample, "facilities": facilities}


def job_apricot(n: int) -> dict[str, Any]:
    from apricot import FacilityLocationSelection

    from prsynth.selection.methods import facility_objective

    vectors, quality = clustered(n)
    base = peak_mb()
    started = time.perf_counter()
    selector = FacilityLocationSelection(K, metric="cosine", optimizer="lazy")
    selector.fit(vectors)
    seconds = time.perf_counter() - started
    chosen = [int(i) for i in selector.ranking]
    return {"seconds": seconds, "objective": facility_objective(vectors, quality, chosen, 0.0),
            "peak": peak_mb(), "data_peak": base}


def in_child(job: Any, *args: Any) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(job, args)


def alternate(rounds: int, ours: Any, theirs: Any) -> tuple[list[dict], list[dict]]:
    mine, peer = [], []
    for _ in range(rounds):
        mine.append(ours())
        peer.append(theirs())
    return mine, peer


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def agreement(a: np.ndarray, b: np.ndarray, threshold: float = 0.92) -> tuple[float, float]:
    """(top-10 neighbour agreement, Jaccard of duplicate pairs at `threshold`)."""
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    a, b = unit(a), unit(b)
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -np.inf)
    np.fill_diagonal(sb, -np.inf)
    ta, tb = np.argsort(-sa, axis=1)[:, :10], np.argsort(-sb, axis=1)[:, :10]
    top = float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(ta, tb, strict=True)]))
    pa, pb = np.triu(sa >= threshold, 1), np.triu(sb >= threshold, 1)
    union = int((pa | pb).sum())
    return top, (int((pa & pb).sum()) / union if union else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--select-n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--backend", default="",
                        help="embedding backend for prsynth embed (default: [embed] backend)")
    parser.add_argument("--only", default="git,embed,select,cold",
                        help="comma-separated parts: git, embed, select, cold")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = str(clone(args.bundle, work / "clone"))
        if "git" in parts:
            def ours() -> dict:
                store = work / "crawl.db"
                store.unlink(missing_ok=True)
                return in_child(job_crawl, path, str(store))

            mine, peer = alternate(args.rounds, ours, lambda: in_child(job_pydriller, path))
            a, b = median(mine, "seconds"), median(peer, "seconds")
            print(f"git mining, {args.bundle.name}: prsynth crawl git {mine[0]['diffed']} PRs "
                  f"diffed, {mine[0]['prs']} stored, {a:.2f} s (peak "
                  f"{median(mine, 'peak'):.0f} MB) | PyDriller {peer[0]['prs']} PRs {b:.2f} s "
                  f"(peak {median(peer, 'peak'):.0f} MB) | ratio {b / a:.1f}x (target >= 5x) "
                  f"| CPU {median(mine, 'cpu'):.2f} vs {median(peer, 'cpu'):.2f} s, "
                  f"{median(peer, 'cpu') / median(mine, 'cpu'):.1f}x", flush=True)
            floor = [in_child(job_git_floor, path) for _ in range(args.rounds)]
            print(f"  floor: git diff-tree alone over the same PRs "
                  f"{median(floor, 'seconds'):.2f} s ({floor[0]['bytes'] / 1e6:.1f} MB of "
                  "diffs)", flush=True)
        if parts & {"embed", "cold"}:
            requests = str(work / "requests.db")
            made = in_child(job_make_requests, path, requests, args.texts)
        if "embed" in parts:
            mine, peer = alternate(args.rounds,
                                   lambda: in_child(job_prsynth_embed, requests, args.backend),
                                   lambda: in_child(job_plain_encode, requests))
            top, pairs = agreement(np.load(requests + ".prsynth.npy"),
                                   np.load(requests + ".plain.npy"))
            a, b = median(mine, "seconds"), median(peer, "seconds")
            print(f"embedding, {mine[0]['texts']} requests: prsynth embed "
                  f"({mine[0]['runtime']}) {a:.1f} s (peak "
                  f"{median(mine, 'peak'):.0f} MB) | SentenceTransformer.encode {b:.1f} s "
                  f"(peak {median(peer, 'peak'):.0f} MB) | ratio {b / a:.2f}x (target >= 2x) "
                  f"| top-10 agreement {top:.4f}, duplicate pairs {pairs:.4f} (>= 0.99)",
                  flush=True)
        if "cold" in parts:
            cold = in_child(job_cold_select, requests)
            print(f"cold select --k {K}, {made['requests']} requests: {cold['seconds']:.1f} s, "
                  f"peak {cold['peak']:.0f} MB (target < 500 MB)", flush=True)
        if "select" in parts:
            n = args.select_n
            mine, peer = alternate(args.rounds, lambda: in_child(job_prsynth_select, n),
                                   lambda: in_child(job_apricot, n))
            a, b = median(mine, "seconds"), median(peer, "seconds")
            print(f"selection, n={n:,} k={K}: prsynth {a:.1f} s, objective "
                  f"{mine[0]['objective']:.4f}, peak {median(mine, 'peak'):.0f} MB | apricot "
                  f"{b:.1f} s, objective {peer[0]['objective']:.4f}, peak "
                  f"{median(peer, 'peak'):.0f} MB | ratio {b / a:.1f}x, objective "
                  f"{mine[0]['objective'] / peer[0]['objective']:.4f} of apricot", flush=True)
        if args.million:
            for weight in (1.0, 0.0):
                big = in_child(job_million, 1_000_000, weight)
                small = in_child(job_sampled_vs_dense, 10_000, weight)
                print(f"selection, n=1,000,000 x 384 float16, quality weight {weight:g}: "
                      f"select {big['seconds']:.1f} s + summaries {big['summary']:.1f} s, "
                      f"peak {big['peak']:.0f} MB (vectors and data alone "
                      f"{big['data_peak']:.0f} MB; targets < 60 s, < 2 GB), objective "
                      f"{big['objective']:.4f}, load {big['load']:.1f} | same method at "
                      f"n=10,000 ({small['sample']} clients, {small['facilities']} "
                      f"facilities): objective {small['ratio']:.4f} of dense greedy "
                      f"(>= 0.99)", flush=True)
        shutil.rmtree(work / "clone", ignore_errors=True)


if __name__ == "__main__":
    main()
