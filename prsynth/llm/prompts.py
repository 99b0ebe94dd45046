"""Prompt templates: Jinja2 files in `prompts/` with a TOML front-matter header.

A template file starts with a header between `+++` lines (name, version, description,
temperature, max_tokens, budget_tokens and the output JSON schema), followed by a Jinja2
body with a `system` and a `user` block. Rendering fits the prompt into the header's
token budget by trimming the diff excerpt, least informative parts first, and tells the
template what it left out.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jsonschema

from prsynth.errors import ConfigError
from prsynth.llm.context import PromptLimit
from prsynth.resources import prompts_dir
from prsynth.text.diffs import HUNK_HEADER, file_diffs, file_kind, leading_hunks

HEADER = re.compile(r"\A\+\+\+[ \t]*\n(?P<header>.*?)\n\+\+\+[ \t]*\n", re.DOTALL)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
HEADER_KEYS = {"name", "version", "description", "temperature", "max_tokens", "budget_tokens",
               "schema"}
# What untrusted PR text is fenced in; the `data` filter neutralizes these tags inside it.
FENCE_TAG = re.compile(r"<(/?)(untrusted_pr_data)", re.IGNORECASE)
# Diff sections in the order they are given up when the prompt is over budget (last first).
KINDS = ("code", "test", "generated", "lockfile")
MAX_BODY_CHARS = 6000


class TemplateError(ConfigError):
    """A prompt template is missing or malformed."""


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters per token for English and code)."""
    return math.ceil(len(text) / 4)


@dataclass(eq=False)
class Template:
    """One parsed prompt template."""

    name: str
    version: int
    description: str
    schema: dict[str, Any]
    temperature: float
    max_tokens: int
    budget_tokens: int
    path: Path
    jinja: jinja2.Template = field(repr=False)

    @property
    def id(self) -> str:
        """`name@version`, stored with every query and logged with every call."""
        return f"{self.name}@{self.version}"

    def render(self, variables: dict[str, Any]) -> list[dict[str, str]]:
        """Chat messages: the `system` block (when present), then the `user` block."""
        values = {"schema_json": json.dumps(self.schema), **variables}
        context = self.jinja.new_context(values)
        messages = []
        try:
            for role in ("system", "user"):
                if role in self.jinja.blocks:
                    text = "".join(self.jinja.blocks[role](context)).strip()
                    messages.append({"role": role, "content": text})
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"prompt template {self.path}: {exc}; fix the template") from None
        return messages


def available_templates() -> list[str]:
    return sorted(p.stem for p in prompts_dir().glob("*.j2"))


def load_template(name: str) -> Template:
    """The template `name` from the prompts folder, or a `.j2` file given by path."""
    if name.endswith(".j2") or "/" in name:
        path = Path(name)
    else:
        path = prompts_dir() / f"{name}.j2"
    if not path.is_file():
        known = ", ".join(available_templates()) or "none"
        raise TemplateError(
            f"prompt template {name!r} not found ({path}); available: {known}"
        )
    return parse_template(path.read_text(encoding="utf-8"), path)


def parse_template(text: str, path: Path) -> Template:
    """Parse and check a template file's header and body."""
    match = HEADER.match(text)
    if not match:
        raise TemplateError(
            f"prompt template {path}: no header; start the file with a TOML header between "
            "'+++' lines (see prompts/README.md)"
        )
    try:
        header = tomllib.loads(match.group("header"))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"prompt template {path}: header is not valid TOML ({exc})") from None
    unknown = set(header) - HEADER_KEYS
    if unknown:
        raise TemplateError(
            f"prompt template {path}: unknown header keys {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(HEADER_KEYS))}"
        )
    name = header.get("name", "")
    if not isinstance(name, str) or not NAME.match(name):
        raise TemplateError(f"prompt template {path}: header `name` must be a lowercase name")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TemplateError(f"prompt template {path}: header `version` must be an integer >= 1")
    schema = header.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise TemplateError(
            f"prompt template {path}: header needs a [schema] table describing a JSON object"
        )
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise TemplateError(
            f"prompt template {path}: [schema] is not a valid JSON Schema ({exc.message})"
        ) from None
    temperature = header.get("temperature", 0.7)
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise TemplateError(f"prompt template {path}: `temperature` must be a number in [0, 2]")
    numbers = {}
    for key, default in (("max_tokens", 800), ("budget_tokens", 3000)):
        value = header.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 16:
            raise TemplateError(f"prompt template {path}: `{key}` must be an integer >= 16")
        numbers[key] = value
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=False,
    )
    environment.filters["data"] = fence_data
    body = text[match.end():]
    try:
        # Pad with the header's lines so Jinja's line numbers match the file's.
        jinja = environment.from_string("\n" * text[:match.end()].count("\n") + body)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"prompt template {path} line {exc.lineno}: {exc.message}; fix the Jinja2 syntax"
        ) from None
    if "user" not in jinja.blocks:
        raise TemplateError(
            f"prompt template {path}: needs a {{% block user %}} (and usually a system block)"
        )
    if path.suffix == ".j2" and name != path.stem:
        # Query ids carry the name: a copied template must not pass for the original.
        raise TemplateError(
            f"prompt template {path}: header name {name!r} differs from the file name; "
            f"rename one so they match"
        )
    return Template(
        name=name, version=version, description=str(header.get("description", "")),
        schema=schema, temperature=float(temperature), max_tokens=numbers["max_tokens"],
        budget_tokens=numbers["budget_tokens"], path=path, jinja=jinja,
    )


def fence_data(value: Any) -> str:
    """PR text for the inside of an <untrusted_pr_data> fence: it cannot close the fence."""
    return FENCE_TAG.sub(lambda m: f"<{m.group(1)}\u200b{m.group(2)}", str(value))


@dataclass
class DiffExcerpt:
    """What of a diff fits the budget, and what was left out (path, kind, partial)."""

    text: str
    dropped: list[dict[str, Any]]

    @property
    def dropped_summary(self) -> str:
        """One line for the template: "2 test files (tests/a.py, ...), 1 lockfile (...)"."""
        groups: dict[str, list[str]] = {}
        for item in self.dropped:
            label = "partly cut" if item["partial"] else item["kind"]
            groups.setdefault(label, []).append(item["path"])
        parts = []
        for label, paths in groups.items():
            shown = ", ".join(paths[:4]) + (", ..." if len(paths) > 4 else "")
            noun = "file" if len(paths) == 1 else "files"
            parts.append(f"{len(paths)} {label} {noun} ({shown})")
        return "; ".join(parts)


def diff_kind(path: str, text: str) -> str:
    """binary | lockfile | generated | test | code: how informative a file's diff is."""
    return file_kind(path) if HUNK_HEADER.search(text) else "binary"


def budget_diff(diff: str, budget_tokens: float,
                count: Callable[[str], float] = estimate_tokens) -> DiffExcerpt:
    """Keep whole file diffs, most informative first (code, tests, generated, lockfiles),
    until the budget (in `count`'s units) is used; cut the first one that does not fit to
    its leading hunks and drop the rest. Binary and mode-only sections carry no text and
    are always dropped. The kept sections stay in the diff's own order."""
    sections = [(i, s, diff_kind(s.path, s.text)) for i, s in enumerate(file_diffs(diff))]
    dropped = [{"path": s.path, "kind": k, "partial": False} for _, s, k in sections
               if k == "binary"]
    ranked = sorted(
        (item for item in sections if item[2] != "binary"),
        key=lambda item: (KINDS.index(item[2]), item[0]),
    )
    kept: list[tuple[int, str]] = []
    used = 0.0
    full = False
    for index, section, kind in ranked:
        cost = count(section.text)
        if not full and used + cost <= budget_tokens:
            kept.append((index, section.text))
            used += cost
            continue
        if not full:
            full = True
            partial = leading_hunks(section.text, budget_tokens - used, count)
            if partial:
                kept.append((index, partial))
                used += count(partial)
                dropped.append({"path": section.path, "kind": kind, "partial": True})
                continue
        dropped.append({"path": section.path, "kind": kind, "partial": False})
    return DiffExcerpt("".join(text for _, text in sorted(kept)), dropped)


@dataclass
class RenderedPrompt:
    """The chat messages for one PR, the variables they were rendered from, the excerpt."""

    messages: list[dict[str, str]]
    variables: dict[str, Any]
    excerpt: DiffExcerpt

    @property
    def tokens(self) -> int:
        return sum(estimate_tokens(m["content"]) for m in self.messages)


def pr_variables(pr: Any) -> dict[str, Any]:
    """What templates see of a (redacted) PR: `repo`, `pr` and `files`."""
    body = pr.body or ""
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + "\n[... body cut ...]"
    return {
        "repo": {"name": pr.repo, "description": pr.repo_description or "",
                 "language": pr.repo_language or ""},
        "pr": {
            "id": pr.id, "number": pr.number, "title": pr.title, "body": body,
            "additions": pr.additions, "deletions": pr.deletions,
            "linked_issues": [
                {"number": i.get("number", ""), "title": i.get("title", ""),
                 "body": (i.get("body") or "")[:2000]}
                for i in pr.linked_issues if isinstance(i, dict)
            ],
        },
        "files": [
            {"path": f.path, "status": f.status, "additions": f.additions,
             "deletions": f.deletions, "kind": file_kind(f.path)}
            for f in pr.files
        ],
    }


def render_pr(template: Template, pr: Any, *, limit: PromptLimit | None = None,
              **extra: Any) -> RenderedPrompt:
    """Render `template` for `pr` so that it fits both the template's `budget_tokens` and
    `limit` (the model's context less the answer), trimming the diff excerpt first and
    the description and issue texts when even a prompt without diff would not fit."""
    variables = {**pr_variables(pr), **extra}

    def size(messages: list[dict[str, str]]) -> tuple[int, int]:
        rough = sum(estimate_tokens(m["content"]) for m in messages)
        return rough, limit.messages_tokens(messages) if limit else 0

    def fits(messages: list[dict[str, str]]) -> bool:
        rough, counted = size(messages)
        return rough <= template.budget_tokens and (limit is None or counted <= limit.tokens)

    whole = budget_diff(pr.diff or "", 10**9)
    if not any(d["kind"] != "binary" for d in whole.dropped):
        # Most PRs fit whole: one render tells.
        variables.update(diff=whole.text, dropped=whole.dropped,
                         dropped_summary=whole.dropped_summary)
        messages = template.render(variables)
        if fits(messages):
            return RenderedPrompt(messages, variables, whole)
    empty = {**variables, "diff": "", "dropped": [], "dropped_summary": ""}
    if limit is not None:
        _shorten_texts(template, empty, limit)
        variables["pr"] = empty["pr"]
    rough, counted = size(template.render(empty))
    # The excerpt is rendered with a line naming what was left out: keep room for it.
    slack = 0.0
    for _ in range(4):
        rooms = [template.budget_tokens - rough - slack]
        if limit is not None:
            rooms.append(limit.tokens - counted - slack)
        if min(rooms) <= 0:
            excerpt = budget_diff(pr.diff or "", 0)
        else:
            excerpt = budget_diff(pr.diff or "", 1.0, _fraction_of(rooms, limit))
        variables.update(diff=excerpt.text, dropped=excerpt.dropped,
                         dropped_summary=excerpt.dropped_summary)
        messages = template.render(variables)
        if fits(messages) or not excerpt.text:
            break
        over_rough, over_counted = size(messages)
        slack += max(over_rough - template.budget_tokens,
                     over_counted - limit.tokens if limit else 0, 16)
    return RenderedPrompt(messages, variables, excerpt)


def rerender(template: Template, pr: Any, extra: dict[str, Any]
             ) -> Callable[[PromptLimit], list[dict[str, str]]]:
    """The messages of `render_pr` for `pr` under another limit (after a refusal)."""
    return lambda limit: render_pr(template, pr, limit=limit, **extra).messages


def _fraction_of(rooms: list[float], limit: PromptLimit | None) -> Callable[[str], float]:
    """A text's cost as the larger share it takes of the template budget's room and of
    the context limit's room, so one budget of 1.0 honours both."""
    if limit is None:
        return lambda text: estimate_tokens(text) / rooms[0]
    return lambda text: max(estimate_tokens(text) / rooms[0], limit.count(text) / rooms[1])


def _shorten_texts(template: Template, variables: dict[str, Any], limit: PromptLimit) -> None:
    """Halve the description and issue bodies while the prompt without any diff takes
    more than two thirds of `limit` (a long description on a small model)."""
    original = variables["pr"]
    for halvings in range(1, 7):
        if limit.messages_tokens(template.render(variables)) <= limit.tokens * 2 // 3:
            return
        keep = len(original["body"]) >> halvings
        variables["pr"] = {
            **original, "body": original["body"][:keep] + "\n[... body cut ...]",
            "linked_issues": [{**i, "body": i["body"][: len(i["body"]) >> halvings]}
                              for i in original["linked_issues"]],
        }
