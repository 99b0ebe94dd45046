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
    packages = {"prompts": "bundled_prompts", "data": "data"}
    for path in shipped:
        assert f"prsynth/{packages[path.parent.name]}/{path.name}" in names
    assert "prsynth/outputs/templates/report.html.j2" in names
    assert "prsynth/migrations/m001_core.py" in names


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The wheel installed into its own folder; the environment that imports it from there."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(wheel)], check=True, capture_output=True)
    # Dependencies come from this environment; prsynth itself only from the wheel.
    deps = [p for p in sys.path if p.endswith("site-packages")]
    return target, {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *deps])}


@pytest.mark.slow
def test_installed_wheel_finds_its_resources_away_from_the_checkout(installed, tmp_path):
    target, env = installed
    script = (
        "import prsynth, prsynth.resources as r, prsynth.llm.prompts as p;"
        "print(prsynth.__file__);print(r.prompts_dir());print(r.data_dir());"
        "print(len(list(r.data_dir().glob('*.jsonl'))));print(','.join(p.available_templates()))"
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    module, prompts, data, jsonl, templates = done.stdout.split("\n")[:5]
    assert Path(prompts) == target / "prsynth" / "bundled_prompts"
    assert Path(data) == target / "prsynth" / "data"
    assert Path(module).is_relative_to(target), module
    assert int(jsonl) >= 1
    assert {"vibe_request", "judge"} <= set(templates.split(","))

    version = subprocess.run([sys.executable, "-m", "prsynth", "--version"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "prsynth, version" in version.stdout


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_offline(installed, tmp_path):
    """`prsynth demo` from the wheel alone: sample, prompts and report template all inside."""
    _, env = installed
    env = {k: v for k, v in env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    done = subprocess.run([sys.executable, "-m", "prsynth", "demo", "--out", "out", "--k", "20"],
                          env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "out" / "selected.jsonl").read_text().splitlines()) == 20
    assert (tmp_path / "out" / "report.html").stat().st_size > 50_000
