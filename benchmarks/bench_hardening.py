"""Property-based runs far past CI's: the diff parser, the import reader and the redactor
on --examples generated inputs each (default 10,000), counting examples and failures.

Usage: python benchmarks/bench_hardening.py [--examples 10000]

The properties are those of tests/test_properties.py (tests/support/fuzzdata.py): any
input gives a result or a clear reason, never an exception; redaction is idempotent and
no planted secret survives. Exits 1 with hypothesis' smallest failing input otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.support.fuzzdata import (  # noqa: E402
    check_diff,
    check_import,
    check_redaction,
    diff_texts,
    record_lines,
    redact_inputs,
)


def run(name: str, strategy, check, examples: int) -> bool:
    counted = {"examples": 0, "lines_read": 0, "bad_lines": 0}

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(value):
        counted["examples"] += 1
        result = check(*value) if isinstance(value, tuple) else check(value)
        if isinstance(result, tuple):
            counted["lines_read"] += result[0] + result[1]
            counted["bad_lines"] += result[1]

    started = time.perf_counter()
    try:
        prop()
        ok = True
    except Exception as exc:  # the benchmark's verdict: report and go on
        notes = "; ".join(getattr(exc, "__notes__", []))
        print(f"{name}: FAILED: {exc!r} {notes}")
        ok = False
    extra = (f", {counted['lines_read']} lines read ({counted['bad_lines']} bad lines"
             " with a reason)" if counted["lines_read"] else "")
    print(f"{name}: {counted['examples']} examples in {time.perf_counter() - started:.1f} s"
          f"{extra}{'' if ok else ' -- FAILED'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--only", choices=["diff", "import", "redact"], action="append",
                        help="run only these (repeatable; default: all three)")
    args = parser.parse_args()
    runs = {
        "diff": ("diff parser", st.tuples(diff_texts, st.integers(0, 400)), check_diff),
        "import": ("import reader", st.lists(record_lines(), max_size=12), check_import),
        "redact": ("redactor", redact_inputs, check_redaction),
    }
    results = [run(*runs[key], args.examples) for key in args.only or runs]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
