"""The CLI surface: help for every command, version, where the store comes from, stats."""

import json

import click
from click.testing import CliRunner

from prsynth import __version__
from prsynth.cli import cli
from prsynth.store import Store


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_has_help():
    runner = CliRunner()
    names = list(all_commands(cli))
    assert {("crawl",), ("crawl", "git"), ("crawl", "import"), ("export", "prs"),
            ("stats",)} <= set(names)
    for path in names:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage: " in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_store_comes_from_flag_then_env_then_config_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for name in ("prsynth.db", "from-config.db", "from-env.db", "flag.db"):
        Store(tmp_path / name).close()  # stats reads a store; it never creates one

    def store_of(*args, env=None):
        result = runner.invoke(cli, [*args, "stats", "--json"], env=env or {})
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["store"]

    assert store_of() == "prsynth.db"
    (tmp_path / "prsynth.toml").write_text('store = "from-config.db"\n')
    assert store_of() == "from-config.db"
    assert store_of(env={"PRSYNTH_STORE": "from-env.db"}) == "from-env.db"
    assert store_of("--store", "flag.db", env={"PRSYNTH_STORE": "from-env.db"}) == "flag.db"


def test_config_with_unknown_key_or_wrong_type_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    (tmp_path / "prsynth.toml").write_text('[crawl]\nmax_diff_byte = 10\n')
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 2 and "'crawl.max_diff_byte' is unknown" in result.output
    (tmp_path / "prsynth.toml").write_text('[crawl]\nmax_diff_bytes = "big"\n')
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 2 and "must be int" in result.output
    (tmp_path / "prsynth.toml").write_text('[crawl\n')
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 2 and "not valid TOML" in result.output


def test_stats_shows_counts_per_repository_and_drop_reason(run_cli, gitrepo):
    gitrepo.commit({"a.py": "1\n"}, "init")
    gitrepo.squash_pr(1, "ann", "Fix a", "", {"a.py": "".join(f"x{i} = {i}\n" for i in range(12))})
    gitrepo.squash_pr(2, "renovate[bot]", "Update deps", "", {"a.txt": "3\n"})
    run_cli("crawl", "git", str(gitrepo.path), "--repo", "acme/app")
    stats = json.loads(run_cli("stats", "--json").stdout)
    assert stats["repos"]["acme/app"] == {"prs": 1, "dropped": {"bot_author": 1}}
    assert stats["dropped"] == {"crawl": {"bot_author": 1}}
    table = run_cli("stats").output
    assert "acme/app" in table and "bot_author: 1" in table
