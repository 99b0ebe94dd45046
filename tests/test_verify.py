"""`prsynth verify` on small real git repositories built here: each status a user can
meet, FAIL_TO_PASS / PASS_TO_PASS, re-runs, timeouts and a run killed with -9."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prsynth.config import load_config
from prsynth.crawl.run import crawl_git
from prsynth.records import Query
from prsynth.stages.verify import VerifyOptions, verify
from prsynth.store import Store
from prsynth.verify.environment import combined_requirements, failure_reason
from prsynth.verify.tests_run import network_isolation
from tests.support.bundles import clone_bundle
from tests.support.gitrepos import GitRepoBuilder

PYPROJECT = """[build-system]
requires = ["flit_core>=3.4,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "calc"
version = "0.1.0"
description = "a tiny package for verify tests"
requires-python = "{requires}"
"""
CALC = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture(scope="session")
def verify_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache for every test here, so the tiny venv is built once."""
    return tmp_path_factory.mktemp("verify-cache")


def tiny_history(path: Path, requires: str = ">=3.8") -> GitRepoBuilder:
    repo = GitRepoBuilder(path)
    repo.commit({"pyproject.toml": PYPROJECT.format(requires=requires),
                 "calc/__init__.py": CALC, "tests/test_calc.py": TESTS}, "start")
    return repo


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six squash-merged PRs, one per verify status that needs no special machine."""
    repo = tiny_history(tmp_path_factory.mktemp("tiny") / "clone")
    repo.squash_pr(1, "ann", "Add sub", "", {
        "calc/__init__.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
        "tests/test_calc.py": TESTS + "\n\ndef test_sub():\n    from calc import sub\n\n"
                                      "    assert sub(5, 3) == 2\n"})
    repo.squash_pr(2, "bob", "Test add with negative numbers", "", {
        "calc/__init__.py": '"""Arithmetic."""\n' + CALC + "\n\ndef sub(a, b):\n    return a - b\n",
        "tests/test_negative.py": "from calc import add\n\n\ndef test_negative():\n"
                                  "    assert add(-1, -1) == -2\n"})
    repo.squash_pr(3, "cyd", "Make add join strings", "", {
        "calc/__init__.py": "def add(a, b):\n    return str(a) + str(b)\n\n\n"
                            "def sub(a, b):\n    return a - b\n",
        "tests/test_calc.py": TESTS + "\n\ndef test_sub():\n    from calc import sub\n\n"
                                      "    assert sub(5, 3) == 2\n\n\ndef test_join():\n"
                                      "    assert add(1, 2) == '12'\n"})
    repo.squash_pr(4, "dan", "Add mul", "", {
        "calc/mul.py": "def mul(a, b):\n    return a * b\n",
        "tests/test_mul.py": "import time\n\nfrom calc.mul import mul\n\n\ndef test_mul():\n"
                             "    time.sleep(120)\n    assert mul(2, 3) == 6\n"})
    repo.squash_pr(5, "eve", "Add a Go helper", "", {
        "tool/main.go": "package main\n\nfunc Double(x int) int { return 2 * x }\n",
        "tool/main_test.go": "package main\n\nimport \"testing\"\n\n"
                             "func TestDouble(t *testing.T) {}\n"})
    repo.squash_pr(6, "fay", "Rename a local variable", "", {
        "calc/mul.py": "def mul(x, y):\n    return x * y\n"})
    return repo.path


def stored(tmp_path: Path, clone: Path, verify_cache: Path, repo: str = "acme/calc"):
    """A store holding the history's PRs (read by `crawl git`) and a query for each."""
    tmp_path.mkdir(exist_ok=True)
    config_file = tmp_path / "prsynth.toml"
    config_file.write_text(f'[verify]\ncache_dir = "{verify_cache}"\ntimeout = 60\n')
    store = Store(tmp_path / "prsynth.db")
    crawl_git(store, clone, repo, filters=[])
    for pr in store.iter_prs():
        store.put_query(Query(id=f"q-{pr.number}", pr_id=pr.id, query=pr.title,
                              prompt="t@1", model="m"))
    return store, load_config(config_file)


def run_verify(store, config, *numbers: int, timeout: float = 0.0, repo: str = "acme/calc"):
    ids = [f"{repo}#{n}" for n in numbers]
    verify(store, config, VerifyOptions(pr_ids=ids, timeout=timeout))
    return store.verifications(ids)


def test_a_new_test_failing_before_and_passing_after_is_verified(tmp_path, history,
                                                                 verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    row = run_verify(store, config, 1)["acme/calc#1"]
    assert row["status"] == "verified"
    assert row["fail_to_pass"] == ["tests/test_calc.py::test_sub"]
    assert row["pass_to_pass"] == ["tests/test_calc.py::test_add"]
    assert "pytest" in row["test_command"] and "tests/test_calc.py" in row["test_command"]
    assert row["python_version"].startswith(f"{sys.version_info[0]}.")
    assert any(req.lower().startswith("pytest==") for req in row["requirements"])
    assert "1 failed" in row["logs"]["before"] and "2 passed" in row["logs"]["after"]


def test_tests_that_already_pass_before_the_change_are_reported(tmp_path, history,
                                                                verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    row = run_verify(store, config, 2)["acme/calc#2"]
    assert row["status"] == "tests_pass_before"
    assert row["fail_to_pass"] == []
    assert row["pass_to_pass"] == ["tests/test_negative.py::test_negative"]


def test_a_change_that_breaks_another_touched_test_fails_after(tmp_path, history, verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    row = run_verify(store, config, 3)["acme/calc#3"]
    assert row["status"] == "tests_fail_after"
    assert "tests/test_calc.py::test_add" in row["detail"]
    assert row["fail_to_pass"] == ["tests/test_calc.py::test_join"]


def test_a_pr_crawled_from_github_is_cloned_into_the_cache_on_demand(tmp_path, history,
                                                                     verify_cache):
    crawled, config = stored(tmp_path / "crawled", history, verify_cache)
    (tmp_path / "remote" / "acme").mkdir(parents=True)
    (tmp_path / "remote" / "acme" / "calc").symlink_to(history)
    config.verify.clone_url = str(tmp_path / "remote" / "{repo}")
    with Store(tmp_path / "github.db") as store:  # as `crawl github` stores it: no clone
        store.put_pr(crawled.get_pr("acme/calc#1"))
        row = run_verify(store, config, 1)["acme/calc#1"]
    assert row["status"] == "verified"
    assert (verify_cache / "clones" / "acme+calc").is_dir()


@pytest.mark.skipif(not network_isolation(), reason="`unshare -n` does not work here")
def test_tests_run_without_network_and_with_a_home_of_their_own(tmp_path, verify_cache,
                                                                 run_cli):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    repo = tiny_history(tmp_path / "net")
    repo.squash_pr(1, "ann", "Add offline check", "", {
        "calc/net.py": "OFFLINE = True\n",
        "tests/test_net.py": "import os\nimport socket\n\nimport pytest\n\n"
                             "from calc.net import OFFLINE\n\n\n"
                             "def test_no_network():\n    assert OFFLINE\n"
                             "    open(os.path.expanduser('~/.prsynth-probe'), 'w').close()\n"
                             "    with pytest.raises(OSError):\n"
                             f"        socket.create_connection(('127.0.0.1', {port}), 2)\n"})
    store, config = stored(tmp_path, repo.path, verify_cache, repo="acme/net")
    store.close()
    result = run_cli("--config", str(tmp_path / "prsynth.toml"), "verify", "--candidates")
    listener.close()
    assert "tests ran without network (unshare -n)" in result.output
    assert not Path("~/.prsynth-probe").expanduser().exists()
    with Store(tmp_path / "prsynth.db") as reopened:
        assert reopened.verifications()["acme/net#1"]["status"] == "verified"


def test_a_test_run_past_the_timeout_is_killed(tmp_path, history, verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    started = time.monotonic()
    row = run_verify(store, config, 4, timeout=3)["acme/calc#4"]
    assert row["status"] == "timeout"
    assert "3s" in row["detail"]
    assert time.monotonic() - started < 60  # the test sleeps 120 s


def test_a_timed_out_task_is_retried_only_with_a_larger_timeout(tmp_path, history,
                                                                verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    ids = ["acme/calc#4"]  # its test sleeps 120 s
    first = verify(store, config, VerifyOptions(pr_ids=ids, timeout=1))
    assert first.statuses == {"timeout": 1} and store.verifications()[ids[0]]["timeout"] == 1
    same = verify(store, config, VerifyOptions(pr_ids=ids, timeout=1))
    assert same.tasks == 0 and same.skipped_fresh == 1
    larger = verify(store, config, VerifyOptions(pr_ids=ids, timeout=2))
    assert larger.tasks == 1 and larger.retried_timeouts == 1
    assert "1 task(s) run (1 timed out before with a smaller --timeout)" in larger.summary()
    assert store.verifications()[ids[0]]["timeout"] == 2
    store.db.execute("UPDATE verifications SET timeout = 0")  # a row from before 008
    unknown = verify(store, config, VerifyOptions(pr_ids=ids, timeout=1))
    assert unknown.retried_timeouts == 1 and store.verifications()[ids[0]]["timeout"] == 1


@pytest.mark.slow
def test_without_uv_the_environment_is_built_with_pip(tmp_path, history):
    """No `uv` on PATH and no `uv` Python package: `python -m venv` and pip build it."""
    store, _ = stored(tmp_path, history, tmp_path / "cache")
    store.close()
    on_path = [d for d in os.environ["PATH"].split(os.pathsep)
               if d and not (Path(d) / "uv").exists()]
    script = ("import sys; sys.modules['uv'] = None; from prsynth.cli import main; "
              "sys.argv = ['prsynth'] + sys.argv[1:]; main()")
    done = subprocess.run(
        [sys.executable, "-c", script, "--store", str(tmp_path / "prsynth.db"), "--config",
         str(tmp_path / "prsynth.toml"), "verify", "--candidates", "--limit", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PATH=os.pathsep.join(on_path),
                 PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert done.returncode == 0, done.stderr
    with Store(tmp_path / "prsynth.db") as reopened:
        row = reopened.verifications()["acme/calc#1"]
    assert row["status"] == "verified", row["detail"]
    log = row["logs"]["environment"]
    assert "-m venv" in log and "-m pip install" in log and "uv " not in log
    assert any(req.lower().startswith("pytest==") for req in row["requirements"])


def test_non_python_and_untested_changes_get_their_own_status(tmp_path, history, verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    rows = run_verify(store, config, 5, 6)
    assert rows["acme/calc#5"]["status"] == "unsupported_language"
    assert "go" in rows["acme/calc#5"]["detail"]
    assert rows["acme/calc#6"]["status"] == "no_tests"


def test_an_environment_that_cannot_be_built_is_env_failed(tmp_path, verify_cache):
    repo = tiny_history(tmp_path / "broken", requires=">=4")
    repo.squash_pr(1, "ann", "Add sub", "", {
        "calc/__init__.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
        "tests/test_sub.py": "from calc import sub\n\n\ndef test_sub():\n"
                             "    assert sub(5, 3) == 2\n"})
    store, config = stored(tmp_path, repo.path, verify_cache, repo="acme/broken")
    row = run_verify(store, config, 1, repo="acme/broken")["acme/broken#1"]
    assert row["status"] == "env_failed"
    assert "python" in (row["detail"] + row["logs"]["environment"]).lower()


def test_rerun_verifies_only_missing_or_stale_tasks(tmp_path, history, verify_cache):
    store, config = stored(tmp_path, history, verify_cache)
    ids = ["acme/calc#5", "acme/calc#6"]
    first = verify(store, config, VerifyOptions(pr_ids=ids, jobs=2))
    again = verify(store, config, VerifyOptions(pr_ids=ids, jobs=2))
    assert first.tasks == 2 and again.tasks == 0 and again.skipped_fresh == 2


def test_kill_9_mid_run_loses_at_most_the_task_in_flight(tmp_path, history, verify_cache,
                                                         run_cli):
    store, config = stored(tmp_path, history, verify_cache)
    store.close()
    command = [sys.executable, "-m", "prsynth", "--store", str(tmp_path / "prsynth.db"),
               "--config", str(tmp_path / "prsynth.toml"), "verify", "--candidates",
               "--timeout", "60"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    log = (tmp_path / "verify.log").open("w")
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log,
                            start_new_session=True)
    db = sqlite3.connect(tmp_path / "prsynth.db")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # PR 4's test sleeps 120 s: the run is mid-task
        count = db.execute("SELECT count(*) FROM verifications").fetchone()[0]
        if count >= 3:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = {r[0]: r[1] for r in db.execute("SELECT pr_id, status FROM verifications")}
    assert len(kept) >= 3, (tmp_path / "verify.log").read_text()
    remaining = 6 - len(kept)
    args = ["--config", str(tmp_path / "prsynth.toml"), "verify", "--candidates",
            "--timeout", "3", "--limit", "2", "--json"]
    first = json.loads(run_cli(*args).stdout)
    second = json.loads(run_cli(*args).stdout)
    assert first["skipped_fresh"] == len(kept) and first["tasks"] == min(2, remaining)
    assert second["tasks"] == remaining - first["tasks"]
    with Store(tmp_path / "prsynth.db") as reopened:
        rows = reopened.verifications()
    assert len(rows) == 6 and {k: rows[k]["status"] for k in kept} == kept
    assert rows["acme/calc#4"]["status"] == "timeout"
    assert not list((verify_cache / "worktrees").glob("wt-*"))


def test_docker_runner_without_a_daemon_is_refused_in_one_line(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = run_cli("verify", "--runner", "docker", "--candidates")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: --runner docker: no Docker daemon answers `docker info` (")
    assert lines[0].endswith("); start Docker or use --runner venv")
    assert "no-docker.sock" in lines[0]  # what docker said names where it looked
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker command at all
    result = run_cli("verify", "--runner", "docker", "--candidates")
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "Error: --runner docker: no `docker` command on PATH; install Docker or use "
        "--runner venv"]


@pytest.mark.slow
def test_a_real_jinja_fix_verifies_from_its_history(tmp_path, verify_cache):
    """pallets/jinja#1665 (Dec 2024): its regression test fails at the base commit and
    passes with the fix; the other tests of the file pass both times."""
    clone = clone_bundle("pallets+jinja", tmp_path / "jinja")
    config_file = tmp_path / "prsynth.toml"
    config_file.write_text(f'[verify]\ncache_dir = "{verify_cache}"\n')
    with Store(tmp_path / "prsynth.db") as store:
        crawl_git(store, clone, "pallets/jinja", since="2024-12-21")
        report = verify(store, load_config(config_file),
                        VerifyOptions(pr_ids=["pallets/jinja#1665"]))
        row = store.verifications()["pallets/jinja#1665"]
    assert report.statuses == {"verified": 1}
    assert row["fail_to_pass"] == [
        "tests/test_regression.py::test_load_parameter_when_set_in_all_if_branches"]
    assert len(row["pass_to_pass"]) > 40
    assert any(req.lower().startswith("markupsafe==") for req in row["requirements"])


def test_a_python_that_does_not_run_is_one_line_naming_the_key(run_cli, tmp_path):
    (tmp_path / "bad.toml").write_text('[verify]\npython = "/no/such/python"\n')
    result = run_cli("--config", str(tmp_path / "bad.toml"), "verify", "--candidates")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: [verify] python '/no/such/python': cannot run it; name an installed Python "
        "interpreter"]


def test_test_requirements_keep_the_extras_of_the_package_they_install(tmp_path):
    (tmp_path / "requirements-tests.txt").write_text(
        "-e .[all]\n-r requirements-lint.txt\npytest >=4.4.0,<9.0.0  # the runner\n")
    (tmp_path / "requirements-lint.txt").write_text("ruff ==0.2.0\n")
    (tmp_path / "requirements-tests37.txt").write_text("pytest==7.0\n")
    lines, extras = combined_requirements(tmp_path)
    assert lines == ["ruff ==0.2.0", "pytest >=4.4.0,<9.0.0"]
    assert extras == ["test", "tests", "testing", "all"]


def test_a_failed_install_is_explained_by_its_error_line_not_its_closing_note():
    pip = ("Collecting flit_core<4\n  error: subprocess-exited-with-error\n"
           "ERROR: No matching distribution found for flit_core<4\n"
           "note: This error originates from a subprocess, and is likely not a problem "
           "with pip.\n")
    assert failure_reason(pip) == "ERROR: No matching distribution found for flit_core<4"
    assert failure_reason("Python 3.7 not found\n") == "Python 3.7 not found"
