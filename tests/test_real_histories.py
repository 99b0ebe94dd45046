"""Real histories are messy: malformed time zones, missing objects, names and messages
that are not UTF-8. Each PR is kept with what can be read, or dropped with a reason;
never the whole crawl."""

import subprocess

from prsynth.config import FiltersConfig
from prsynth.crawl.filters import default_filters
from prsynth.crawl.run import crawl_git

# Tiny PRs: the task filters (min_changed_lines, ...) are not what these tests are about.
ALL_TASKS = FiltersConfig.off()


def _git(path, *args, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=path, input=stdin, capture_output=True,
                          check=True)
    return done.stdout.decode().strip()


def test_a_commit_with_a_malformed_time_zone_is_kept_and_the_crawl_goes_on(store, gitrepo):
    gitrepo.commit({"README": "tool\n"}, "Initial commit")
    gitrepo.squash_pr(1, "ann", "Add parser", "", {"parser.py": "def parse():\n    pass\n"})
    # What `git fsck` calls badTimezone (the jinja history has one): `+51800`.
    tree = _git(gitrepo.path, "rev-parse", "HEAD^{tree}")
    parent = gitrepo.head()
    raw = (f"tree {tree}\nparent {parent}\nauthor A <a@x> 1300000000 +51800\n"
           f"committer A <a@x> 1300000000 +51800\n\nOdd clock (#2)\n").encode()
    odd = _git(gitrepo.path, "hash-object", "-t", "commit", "-w", "--literally", "--stdin",
               stdin=raw)
    _git(gitrepo.path, "update-ref", "refs/heads/main", odd)
    gitrepo.squash_pr(3, "bob", "Fix parser", "", {"parser.py": "def parse():\n    return 1\n"})

    report = crawl_git(store, gitrepo.path, "acme/tool", filters=default_filters(tasks=ALL_TASKS))

    assert report.new == 2 and store.pr_ids() == {"acme/tool#1", "acme/tool#3"}
    assert report.skipped == {"empty_diff": 1}  # #2 changes nothing; it was read all the same
    assert store.get_pr("acme/tool#1").merged_at.startswith("2023-")


def test_messages_and_names_that_are_not_utf8_are_kept_readable(store, gitrepo):
    gitrepo.commit({"README": "tool\n"}, "Initial commit")
    gitrepo.write({"caf\xe9.py": "x = 1\n"})
    latin1 = "Café au lait (#4)\n\nrésumé".encode("latin-1")
    gitrepo.git("config", "i18n.commitEncoding", "latin-1")
    subprocess.run(["git", "commit", "-q", "-F", "-"], cwd=gitrepo.path, input=latin1,
                   check=True, capture_output=True)

    report = crawl_git(store, gitrepo.path, "acme/tool", filters=default_filters(tasks=ALL_TASKS))

    assert report.new == 1
    pr = store.get_pr("acme/tool#4")
    assert "au lait" in pr.title and pr.files


def test_a_pr_whose_objects_are_missing_is_dropped_with_a_reason(store, gitrepo):
    gitrepo.commit({"README": "tool\n"}, "Initial commit")
    gitrepo.squash_pr(1, "ann", "Add parser", "", {"parser.py": "def parse():\n    pass\n"})
    gitrepo.squash_pr(2, "bob", "Add lexer", "", {"lexer.py": "TOKENS = []\n"})
    gitrepo.squash_pr(3, "cy", "Fix parser", "", {"parser.py": "def parse():\n    return 1\n"})
    blob = _git(gitrepo.path, "rev-parse", "HEAD~1:lexer.py")
    (gitrepo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    (gitrepo.path / "lexer.py").unlink()  # else git reads the blob from the work tree

    report = crawl_git(store, gitrepo.path, "acme/tool", filters=default_filters(tasks=ALL_TASKS))

    assert store.pr_ids() == {"acme/tool#1", "acme/tool#3"}
    assert report.skipped == {"missing_git_objects": 1}
    assert ("crawl", "acme/tool", "missing_git_objects", 1) in store.drop_counts()
