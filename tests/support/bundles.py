"""Clones of the real repositories in ../shared/repos (git bundles; see its README)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

BUNDLES = Path(__file__).resolve().parents[2].parent / "shared" / "repos"


def clone_bundle(name: str, dest: Path, *, pull_refs: bool = False) -> Path:
    """Clone `owner+name.bundle` into `dest` (with `refs/pull/*` when asked); skip the
    test with the reason when the bundles are not beside the project."""
    bundle = BUNDLES / f"{name}.bundle"
    if not bundle.is_file():
        why = f"{bundle} is missing: the shared repositories must sit beside the project"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    subprocess.run(["git", "clone", "-q", str(bundle), str(dest)], check=True)
    if pull_refs:
        subprocess.run(["git", "-C", str(dest), "fetch", "-q", str(bundle),
                        "refs/pull/*:refs/pull/*"], check=True)
    return dest
