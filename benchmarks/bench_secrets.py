"""Secret redaction: prsynth's rules (prsynth/text/redact.py) against detect-secrets.

Usage: python benchmarks/bench_secrets.py [--bundle PATH] [--copies 10]
(needs `pip install detect-secrets`; it is not a prsynth dependency)

- Recall on a planted corpus (tests/support/secretcorpus.py: AWS secret keys in prose,
  PyPI tokens, client secrets, passwords stated in prose, tokens near secret words and
  the provider formats), and how many of its ordinary lines each one changes.
- Speed and changed texts on a real history: the title, body and diff of every PR in a
  git bundle (default: the jinja bundle in ../shared/repos), read without redaction.
detect-secrets runs as its CLI does (default plugins and filters, `scan_file` on a
file per text); a found value is replaced wherever it occurs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prsynth.progress import quiet  # noqa: E402
from prsynth.records import PullRequest  # noqa: E402
from prsynth.sources.base import CrawlReport  # noqa: E402
from prsynth.sources.local_git import LocalGitSource  # noqa: E402
from prsynth.store import Store  # noqa: E402
from prsynth.text.redact import redact  # noqa: E402
from tests.support.secretcorpus import ORDINARY, planted  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT.parent / "shared" / "repos" / "pallets+jinja.bundle"


class DetectSecrets:
    """detect-secrets' default scan of one text at a time, as its CLI scans a file."""

    def __init__(self, folder: Path) -> None:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings

        self.collection_type = SecretsCollection
        self.settings = default_settings
        self.file = folder / "pr.txt"

    def redact(self, text: str) -> str:
        self.file.write_text(text, encoding="utf-8", errors="replace")
        secrets = self.collection_type()
        with self.settings():
            secrets.scan_file(str(self.file))
        found = {s.secret_value for _, s in secrets if s.secret_value}
        for value in sorted(found, key=len, reverse=True):
            text = text.replace(value, "[REDACTED:detect-secrets]")
        return text


def recall(redactor, cases) -> tuple[float, dict[str, float]]:
    kinds: dict[str, list[bool]] = {}
    for kind, text, secret in cases:
        kinds.setdefault(kind, []).append(secret not in redactor(text))
    hits = [h for found in kinds.values() for h in found]
    return sum(hits) / len(hits), {k: sum(v) / len(v) for k, v in kinds.items()}


def history_texts(bundle: Path, folder: Path) -> list[str]:
    clone = folder / "clone"
    subprocess.run(["git", "clone", "-q", str(bundle), str(clone)], check=True)
    texts = []
    source = LocalGitSource(clone, "owner/history")
    with Store(folder / "empty.db") as store:
        for pr in source.pull_requests(store, CrawlReport(source.name), [], quiet):
            if isinstance(pr, PullRequest):
                texts += [pr.title, pr.body, pr.diff]
    return texts


def timed(redactor, texts: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    changed = sum(redactor(text) != text for text in texts)
    return time.perf_counter() - started, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--copies", type=int, default=10, help="copies of each planted case")
    args = parser.parse_args()
    cases = planted(seed=7, copies=args.copies)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scanner = DetectSecrets(folder)
        layered = lambda text: scanner.redact(redact(text))  # noqa: E731
        print(f"planted corpus: {len(cases)} secrets of {len({k for k, _, _ in cases})} kinds,"
              f" {len(ORDINARY)} ordinary lines")
        for name, redactor in (("rules", redact), ("detect-secrets", scanner.redact),
                               ("rules+detect-secrets", layered)):
            total, per_kind = recall(redactor, cases)
            false = sum(redactor(line) != line for line in ORDINARY)
            missed = ", ".join(f"{k} {v:.0%}" for k, v in per_kind.items() if v < 1) or "none"
            print(f"  {name:>21}: recall {total:.3f}; ordinary lines changed {false}/"
                  f"{len(ORDINARY)}; kinds below 100%: {missed}")
        texts = history_texts(args.bundle, folder)
        size = sum(len(t) for t in texts) / 1e6
        print(f"real history {args.bundle.name}: {len(texts)} texts, {size:.1f} MB")
        rules_s, rules_changed = timed(redact, texts)
        ds_s, ds_changed = timed(scanner.redact, texts)
        print(f"  rules:          {rules_s:6.2f} s, {rules_changed} texts changed")
        print(f"  detect-secrets: {ds_s:6.2f} s, {ds_changed} texts changed "
              f"({ds_s / rules_s:.0f}x the rules' time)")


if __name__ == "__main__":
    main()
