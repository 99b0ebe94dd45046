"""`prsynth verify --runner docker` on a real git repository built here, in a real Docker
daemon with an image built without Docker Hub (tests/support/docker.py): a task verified
in a container without network, a timeout whose container is killed and removed, an
image that is not there. Without a daemon these fail under CI=true, else skip."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from prsynth.store import Store
from prsynth.verify.docker import LABEL, python_version
from prsynth.verify.environment import EnvironmentFailed
from tests.support.docker import docker_image
from tests.test_verify import stored, tiny_history

CALC = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
DEC_2022 = 1_670_000_000  # base commits then get Python 3.11, the test image's


def host_address() -> str:
    """This machine's address on its network (a container with network could reach it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


@pytest.fixture(scope="module")
def image() -> str:
    return docker_image()


def scripts_history(path: Path, port: int, address: str) -> Path:
    """A folder of code and tests (no packaging files, so the environment builds without
    a registry), two PRs: one adding `sub` and a test that needs no network, one whose
    test sleeps 120 s."""
    repo = tiny_history(path)
    repo.clock = DEC_2022
    repo.commit({"pyproject.toml": None}, "no packaging")
    repo.squash_pr(1, "ann", "Add sub", "", {
        "calc/__init__.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
        "tests/test_calc.py": TESTS + "\n\ndef test_sub():\n    from calc import sub\n\n"
                                      "    assert sub(5, 3) == 2\n",
        "tests/test_offline.py": "import socket\n\nimport pytest\n\n\n"
                                 "def test_no_network():\n    with pytest.raises(OSError):\n"
                                 f"        socket.create_connection(({address!r}, {port}), 3)\n"})
    repo.squash_pr(2, "bob", "Add mul", "", {
        "calc/mul.py": "def mul(a, b):\n    return a * b\n",
        "tests/test_mul.py": "import time\n\nfrom calc.mul import mul\n\n\ndef test_mul():\n"
                             "    time.sleep(120)\n    assert mul(2, 3) == 6\n"})
    return repo.path


def our_containers() -> list[str]:
    listed = subprocess.run(["docker", "ps", "-a", "-q", "--filter",
                             f"label={LABEL}={os.getpid()}"], capture_output=True, text=True)
    return listed.stdout.split()


@pytest.mark.slow
def test_docker_runner_verifies_in_a_container_without_network_and_kills_on_timeout(
        tmp_path, image, run_cli):
    address = host_address()
    listener = socket.create_server(("0.0.0.0", 0))
    listener.setblocking(False)
    clone = scripts_history(tmp_path / "calc", listener.getsockname()[1], address)
    store, _ = stored(tmp_path, clone, tmp_path / "cache")
    store.close()
    with (tmp_path / "prsynth.toml").open("a") as config:  # it builds offline
        config.write(f'docker_image = "{image}"\ndocker_build_network = "none"\n')
    args = ["--config", str(tmp_path / "prsynth.toml"), "verify", "--candidates",
            "--runner", "docker"]
    result = run_cli(*args, "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "verify (docker:prsynth-test/python:{version}): 1 task(s) run, 1 verified" \
        in result.output
    assert "tests ran without network (docker --network none)" in result.output
    with pytest.raises(BlockingIOError):  # nothing reached the host from the container
        listener.accept()
    listener.close()

    started = time.monotonic()
    timed = json.loads(run_cli(*args, "--timeout", "3", "--json").stdout)
    assert time.monotonic() - started < 100  # its test sleeps 120 s
    assert timed["statuses"] == {"timeout": 1} and timed["skipped_fresh"] == 1
    assert our_containers() == []  # killed and removed

    with Store(tmp_path / "prsynth.db") as reopened:
        rows = reopened.verifications()
    row = rows["acme/calc#1"]
    assert row["status"] == "verified", row["detail"] + row["logs"].get("environment", "")
    assert row["environment"] == "docker:prsynth-test/python:3.11"
    assert row["fail_to_pass"] == ["tests/test_calc.py::test_sub"]
    assert row["pass_to_pass"] == ["tests/test_calc.py::test_add",
                                   "tests/test_offline.py::test_no_network"]
    assert row["python_version"].startswith("3.11.")
    assert any(req.lower().startswith("pytest==") for req in row["requirements"])
    assert rows["acme/calc#2"]["status"] == "timeout"
    assert rows["acme/calc#2"]["environment"] == "docker:prsynth-test/python:3.11"
    assert not list((tmp_path / "cache" / "worktrees").glob("wt-*"))


def test_an_image_that_is_neither_here_nor_pullable_is_env_failed_in_one_line(
        tmp_path, image, run_cli):
    repo = tiny_history(tmp_path / "new")  # committed in Nov 2023: Python 3.12
    repo.squash_pr(1, "ann", "Add sub", "", {
        "calc/__init__.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n",
        "tests/test_sub.py": "from calc import sub\n\n\ndef test_sub():\n"
                             "    assert sub(5, 3) == 2\n"})
    store, _ = stored(tmp_path, repo.path, tmp_path / "cache", repo="acme/new")
    store.close()
    with (tmp_path / "prsynth.toml").open("a") as config:
        config.write(f'docker_image = "{image}"\n')
    result = run_cli("--config", str(tmp_path / "prsynth.toml"), "verify", "--candidates",
                     "--runner", "docker")
    assert result.exit_code == 0 and "1 env_failed" in result.output
    with Store(tmp_path / "prsynth.db") as reopened:
        row = reopened.verifications()["acme/new#1"]
    assert row["environment"] == "docker:prsynth-test/python:3.12"
    assert row["detail"].startswith("docker image prsynth-test/python:3.12 is not here and "
                                    "`docker pull` failed (")
    assert row["detail"].endswith("pull or build it, or set [verify] docker_image")
    assert "\n" not in row["detail"]


def test_a_container_left_by_a_killed_run_is_removed_by_the_next_run(image, tmp_path,
                                                                    run_cli):
    gone = subprocess.Popen(["true"])
    gone.wait()  # a PID whose process is gone, like a prsynth killed with -9
    name = f"prsynth-verify-{gone.pid}-left"
    subprocess.run(["docker", "create", "--name", name, "--label", f"{LABEL}={gone.pid}",
                    image.format(version="3.11"), "true"], check=True, capture_output=True)
    (tmp_path / "prsynth.toml").write_text(f'[verify]\ncache_dir = "{tmp_path}/cache"\n')
    result = run_cli("--config", str(tmp_path / "prsynth.toml"), "verify", "--candidates",
                     "--runner", "docker")
    assert result.exit_code == 0, result.output
    listed = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"],
                            capture_output=True, text=True).stdout.split()
    assert name not in listed


def test_the_image_is_the_newest_python_of_the_base_commit_that_python_requires_allows():
    assert python_version("", "2022-12-01T10:00:00+00:00") == "3.11"
    assert python_version(">=3.8,<3.11", "2024-06-01") == "3.10"
    assert python_version(">=3.12", "2020-01-01") == "3.12"  # none out yet: the oldest allowed
    assert python_version(">=3.8.1", "2019-12-01") == "3.8"
    assert python_version("not a specifier", "2021-11-01") == "3.10"
    with pytest.raises(EnvironmentFailed, match="allows none of Python 3.7-3.13"):
        python_version(">=4", "2024-01-01")
