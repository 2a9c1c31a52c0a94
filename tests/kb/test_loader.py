"""Loading a folder of articles: a bad front matter is reported with file and line, the rest still loads."""

from __future__ import annotations

from pathlib import Path

from kb.loader import load_directory

GOOD = """---
title: Reset your password
aliases:
  - forgot my password
---
Use the link on the sign-in page.
"""

CASES = {
    "bad-yaml.md": ("---\ntitle: Broken\naliases: [one, two\ntags: [x]\n---\nbody\n", 3, "not valid YAML"),
    "no-title.md": ("---\naliases: [a]\n---\nbody\n", 1, "missing required key 'title'"),
    "unknown-key.md": ("---\ntitle: T\n\nauthor: me\n---\n", 4, "unknown key 'author'"),
    "twice.md": ("---\ntitle: T\ntags: [a]\ntags: [b]\n---\n", 4, "appears twice (first on line 3)"),
    "aliases-not-list.md": ("---\ntitle: T\naliases: just one\n---\n", 3, "'aliases' must be a list of strings"),
    "no-front-matter.md": ("# Just markdown\n", 1, "missing front matter"),
    "not-closed.md": ("---\ntitle: T\n", 1, "not closed"),
}


def test_each_bad_file_is_reported_with_file_and_line_and_the_good_ones_load(tmp_path: Path) -> None:
    (tmp_path / "reset-password.md").write_text(GOOD, encoding="utf-8")
    for name, (text, _, _) in CASES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    result = load_directory(tmp_path)

    assert [a.id for a in result.articles] == ["reset-password"]
    assert result.articles[0].aliases == ("forgot my password",)
    errors = {error.path.name: error for error in result.errors}
    assert set(errors) == set(CASES)
    for name, (_, line, message) in CASES.items():
        error = errors[name]
        assert error.line == line, (name, str(error))
        assert message in error.message, (name, str(error))
        assert str(error).startswith(f"{tmp_path / name}:{line}: ")


def test_a_duplicate_id_points_at_the_id_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nid: same\ntitle: A\n---\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\ntitle: B\nid: same\n---\n", encoding="utf-8")
    result = load_directory(tmp_path)
    assert [a.title for a in result.articles] == ["A"]
    assert [(e.path.name, e.line) for e in result.errors] == [("b.md", 3)]
    assert "duplicate article id 'same' (also in a.md)" in result.errors[0].message
