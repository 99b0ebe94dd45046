"""LLM synthesis throughput against a local Chat Completions server with fixed latency.

    python benchmarks/bench_synth.py [--calls 2000] [--latency 0.1] [--concurrency 32]

Starts tests/openai_server.py in a subprocess (so the server does not compete with the
client for the GIL), then (a) synthesizes CALLS requests at CONCURRENCY through the real
openai client and prints calls/s against the ideal bound concurrency/latency; (b) makes
SEQUENTIAL calls one at a time as the baseline, against its bound 1/latency; (c) re-runs
the first synthesis fully from the cache (`redo`: every query re-made, no call sent),
and a plain re-run where nothing is missing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402, F401  (imported up front: its ~0.5 s import is not throughput)

from prsynth.llm.openai_chat import OpenAIChat  # noqa: E402
from prsynth.records import FileChange, PullRequest  # noqa: E402
from prsynth.stages.synth import SynthOptions, synthesize  # noqa: E402
from prsynth.store import Store  # noqa: E402

VERBS = ["Fix", "Handle", "Speed up", "Add an option to", "Clean up", "Document", "Validate"]
THINGS = ["the CSV reader", "the retry loop", "config loading", "the cache", "path parsing",
          "the HTTP client", "date formatting", "the plugin registry", "error messages"]


def fill(store: Store, count: int, repo: str) -> None:
    for n in range(1, count + 1):
        title = f"{VERBS[n % len(VERBS)]} {THINGS[n % len(THINGS)]} (case {n})"
        diff = (f"diff --git a/src/mod{n % 50}.py b/src/mod{n % 50}.py\n--- a/src/mod{n % 50}.py\n"
                f"+++ b/src/mod{n % 50}.py\n@@ -1,3 +1,4 @@\n def run_{n}(value):\n"
                f"-    return value\n+    if value is None:\n+        return default_{n}()\n"
                "+    return value\n")
        store.put_pr(PullRequest(
            repo=repo, number=n, title=title, body=f"Users hit this in case {n}: it fails.",
            diff=diff, files=[FileChange(f"src/mod{n % 50}.py", "modified", 3, 1)],
            source="import", repo_language="Python"))


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.openai_server", "--latency", str(latency)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description="LLM synthesis throughput benchmark")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=100,
                        help="calls in the sequential baseline (it runs at 1/latency calls/s)")
    args = parser.parse_args()
    process, url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = Store(Path(folder) / "bench.db")
            fill(store, args.calls, "bench/concurrent")
            fill(store, args.sequential, "bench/sequential")
            backend = OpenAIChat(model="bench-model", base_url=url, concurrency=args.concurrency,
                                 prices={"bench-model": {"input": 0.15, "output": 0.6}})

            started = time.perf_counter()
            report = synthesize(store, backend, SynthOptions(
                repo="bench/concurrent", concurrency=args.concurrency))
            elapsed = time.perf_counter() - started
            assert report.synthesized == args.calls, report.summary()
            bound = args.concurrency / args.latency
            rate = args.calls / elapsed
            print(f"concurrent: {args.calls} calls at concurrency {args.concurrency} in "
                  f"{elapsed:.2f}s = {rate:.1f} calls/s; bound {bound:.0f}/s; "
                  f"ratio {rate / bound:.3f} (target >= 0.9)")

            started = time.perf_counter()
            report = synthesize(store, backend, SynthOptions(repo="bench/sequential",
                                                             concurrency=1))
            elapsed = time.perf_counter() - started
            rate = args.sequential / elapsed
            print(f"sequential baseline: {args.sequential} calls in {elapsed:.2f}s = {rate:.1f}"
                  f" calls/s; bound {1 / args.latency:.0f}/s; ratio {rate * args.latency:.3f}")

            started = time.perf_counter()
            report = synthesize(store, backend, SynthOptions(
                repo="bench/concurrent", concurrency=args.concurrency, redo=True))
            elapsed = time.perf_counter() - started
            assert report.from_cache == args.calls and report.calls == 0, report.summary()
            print(f"cached re-run (all {args.calls} re-made from the cache, 0 calls): "
                  f"{elapsed:.2f}s (target < 2 s)")

            started = time.perf_counter()
            report = synthesize(store, backend, SynthOptions(repo="bench/concurrent"))
            elapsed = time.perf_counter() - started
            assert report.existing == args.calls and report.calls == 0
            print(f"re-run with nothing missing: {elapsed:.2f}s")
            store.close()
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
