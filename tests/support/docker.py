"""A Docker image for the docker runner's tests, built here without Docker Hub: Debian
bookworm's python3, venv and pytest (`mmdebstrap`, else `debootstrap`, from the Debian
mirror) imported with `docker import`. `.ci/run` starts building it in the background
(`python3 tests/support/docker.py`); tests wait for that build under the same lock or
build it themselves. Stdlib only, so it also runs before the project is installed."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGE = "prsynth-test/python:3.11"  # bookworm's python3 is 3.11
PATTERN = "prsynth-test/python:{version}"
PACKAGES = "python3,python3-venv,python3-pytest"
MIRROR = "http://deb.debian.org/debian"
# Removed after installing: apt's lists and cache, and the full perl (only dpkg's
# scripts need perl, and perl-base stays).
REMOVE = ("/var/lib/apt/lists/*", "/var/cache/apt/*", "/usr/share/perl",
          "/usr/lib/x86_64-linux-gnu/perl")
LOCK = Path(tempfile.gettempdir()) / "prsynth-test-image.lock"
# Left out of the image: it is copied whole for every container (vfs storage driver).
EXCLUDE = ("/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/man/*", "/usr/share/info/*",
           "/usr/share/i18n/*", "/usr/share/zoneinfo/*", "/usr/lib/x86_64-linux-gnu/gconv/*")


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True,
                              timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def image_present(image: str = IMAGE) -> bool:
    return subprocess.run(["docker", "image", "inspect", image],
                          capture_output=True).returncode == 0


def build_image(image: str = IMAGE) -> str:
    """Build the image unless present (under a lock, so parallel callers build once);
    returns "" when done, else why it could not be built."""
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_present(image):
            return ""
        started = time.monotonic()
        if shutil.which("mmdebstrap"):
            why = _mmdebstrap(image)
        elif shutil.which("debootstrap"):
            why = _debootstrap(image)
        else:
            why = "neither mmdebstrap nor debootstrap is installed (apt-get install mmdebstrap)"
        if not why:
            print(f"built {image} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return why


def _mmdebstrap(image: str) -> str:
    excludes = [f"--dpkgopt=path-exclude={p}" for p in EXCLUDE]
    build = subprocess.Popen(
        ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={PACKAGES}",
         "--aptopt=APT::Install-Recommends \"false\"", *excludes,
         "--customize-hook=rm -rf " + " ".join(f'"$1"{p}' for p in REMOVE),
         "bookworm", "-", MIRROR], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    imported = subprocess.run(["docker", "import", "-", image], stdin=build.stdout,
                              capture_output=True, text=True)
    build.stdout.close()
    err = build.stderr.read().decode("utf-8", "replace")
    if build.wait() != 0:
        return f"mmdebstrap failed: {err.strip().splitlines()[-1:]}"
    if imported.returncode != 0:
        return f"docker import failed: {imported.stderr.strip()}"
    return ""


def _debootstrap(image: str) -> str:
    with tempfile.TemporaryDirectory(prefix="prsynth-image-") as tmp:
        root = Path(tmp) / "root"
        done = subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}",
                               "bookworm", str(root), MIRROR], capture_output=True, text=True)
        if done.returncode != 0:
            return f"debootstrap failed: {done.stdout.strip().splitlines()[-1:]}"
        for pattern in [*EXCLUDE, *REMOVE]:
            for path in root.glob(pattern.lstrip("/")):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(["docker", "import", "-", image], stdin=tar.stdout,
                                  capture_output=True, text=True)
        tar.stdout.close()
        tar.wait()
        return "" if imported.returncode == 0 else f"docker import failed: {imported.stderr}"


def docker_image() -> str:
    """The test image's name pattern for `[verify] docker_image`. Without a Docker daemon
    (or when the image cannot be built) the test fails under CI=true and is skipped
    elsewhere, with the reason."""
    import pytest

    why = ("no Docker daemon answers (`docker info` fails)" if not docker_answers()
           else build_image())
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"docker runner tests: {why}")
        pytest.skip(f"docker runner tests: {why}")
    return PATTERN


if __name__ == "__main__":
    problem = build_image() if docker_answers() else "no Docker daemon answers"
    if problem:
        sys.exit(f"prsynth test image: {problem}")
