"""README.md stays true: its commands are the ones CI runs, its config reference is complete."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from prsynth.config import Config, SourceConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    level = title.split()[0]
    end = README.find(f"\n{level} ", start + len(title) + 2)
    return README[start: end if end > 0 else None]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def test_quick_start_is_two_commands_and_the_second_is_what_ci_runs():
    (commands,) = code_blocks(section("## Quick start"))
    lines = commands.strip().splitlines()
    assert lines == ["python3 -m pip install torch==2.13.0 . && prsynth demo",
                     "python3 -m pip install --quiet tox && tox -e py311,style"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert lines[1] in ci.splitlines()
    (tests,) = code_blocks(section("## Running the tests"))
    assert tests.strip() == lines[1]


def test_configuration_reference_loads_and_names_every_key(tmp_path):
    (example,) = code_blocks(section("## Configuration"))
    path = tmp_path / "prsynth.toml"
    path.write_text(example, encoding="utf-8")
    config = load_config(path)  # unknown keys or wrong types would raise
    raw = tomllib.loads(example)
    for field in dataclasses.fields(Config):
        if field.name in ("path", "sources"):
            continue
        assert field.name in raw, f"README configuration lacks {field.name}"
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            missing = {f.name for f in dataclasses.fields(value)} - set(raw[field.name])
            assert not missing, f"README configuration lacks [{field.name}] {sorted(missing)}"
    (source,) = raw["sources"]
    assert {f.name for f in dataclasses.fields(SourceConfig)} <= set(source)
    # The documented values are the defaults (apart from the illustrative tables and lists).
    assert config.select == Config().select and config.dedupe == Config().dedupe
    assert config.crawl == Config().crawl and config.cluster == Config().cluster
