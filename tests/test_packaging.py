"""`pip install .` gives a working prsynth, with prompts/ and data/ inside the wheel."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, cwd=build,
    )
    (found,) = out.glob("prsynth-*.whl")
    return found


@pytest.mark.slow
def test_wheel_carries_every_prompt_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [p for folder in ("prompts", "data") for p in (ROOT / folder).iterdir()
               if p.suffix in (".j2", ".jsonl", ".md")]
    assert shipped, "prompts/ and data/ are empty"
    for path in shipped:
        assert f"prsynth/{path.parent.name}/{path.name}" in names
    assert "prsynth/migrations/m001_core.py" in names


@pytest.mark.slow
def test_installed_wheel_finds_its_resources_away_from_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    # Dependencies come from this environment; prsynth itself only from the wheel.
    deps = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *deps])}
    script = (
        "import prsynth, prsynth.resources as r;"
        "print(prsynth.__file__);print(r.prompts_dir());print(r.data_dir());"
        "print(len(list(r.data_dir().glob('*.jsonl'))))"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    module, prompts, data, jsonl = done.stdout.split("\n")[:4]
    for path in (module, prompts, data):
        assert Path(path).is_relative_to(target), path
    assert int(jsonl) >= 1

    version = subprocess.run([sys.executable, "-m", "prsynth", "--version"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "prsynth, version" in version.stdout
