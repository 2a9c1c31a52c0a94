"""Split a Markdown file into its YAML front matter and body, keeping file line numbers for errors.

Front matter is the YAML between a first line `---` and the next `---` line. It is parsed with PyYAML's
safe loader; we compose the node tree ourselves (instead of `yaml.safe_load`) so every key knows the
line it sits on and a repeated key is reported rather than silently overwritten. The loader is libyaml's
(`CSafeLoader`) where PyYAML was built with it, as its wheels are: the pure-Python scanner made parsing the
sample KB's front matter most of seeding a new desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

#: the same safe loader, in C where PyYAML has it
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FENCE = "---"
_BOM = "\ufeff"


class ArticleParseError(ValueError):
    """An article file that cannot be used; `line` is the 1-based file line (None: the whole file)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class FrontMatter:
    data: dict[Any, Any]
    key_lines: dict[str, int]  # key -> 1-based file line
    body: str


def split(text: str) -> FrontMatter:
    lines = text.removeprefix(_BOM).splitlines()
    if not lines or lines[0].rstrip() != FENCE:
        raise ArticleParseError(1, "missing front matter: the file must start with a '---' line")
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() == FENCE), None)
    if close is None:
        raise ArticleParseError(1, "front matter is not closed: add a '---' line after it")
    yaml_text = "\n".join(lines[1:close])
    data, key_lines = _parse_yaml(yaml_text, last_line=close)
    return FrontMatter(data=data, key_lines=key_lines, body="\n".join(lines[close + 1 :]).strip())


def _parse_yaml(yaml_text: str, *, last_line: int) -> tuple[dict[Any, Any], dict[str, int]]:
    """Parse the front matter (which starts on file line 2; YAML marks count from 0 → + 2)."""
    loader = SAFE_LOADER(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            raise ArticleParseError(2, "front matter must be 'key: value' lines")
        key_lines = _key_lines(node)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise ArticleParseError(_yaml_line(exc, last_line), f"front matter is not valid YAML: {_explain(exc)}") from exc
    except yaml.YAMLError as exc:
        raise ArticleParseError(1, f"front matter is not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return data, key_lines


def _key_lines(node: yaml.MappingNode) -> dict[str, int]:
    lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key, line = str(key_node.value), key_node.start_mark.line + 2
        if key in lines:
            raise ArticleParseError(line, f"key '{key}' appears twice (first on line {lines[key]})")
        lines[key] = line
    return lines


def _yaml_line(exc: yaml.MarkedYAMLError, last_line: int) -> int:
    """The file line of a YAML error; errors noticed only at the end point back to where they began."""
    mark = exc.problem_mark
    if mark is not None and mark.line + 2 < last_line:
        return int(mark.line) + 2
    if exc.context_mark is not None:
        return int(exc.context_mark.line) + 2
    return last_line - 1 if mark is None else min(int(mark.line) + 2, last_line - 1)


def _explain(exc: yaml.MarkedYAMLError) -> str:
    parts = [exc.problem or "", exc.context or ""]
    return " ".join(p for p in parts if p) or "syntax error"
