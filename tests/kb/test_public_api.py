"""`kb`'s public API: what the outer layers may import from the package, pinned so a change is deliberate."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest

import kb
from tests.conftest import ROOT

PUBLIC = [
    "Article",
    "ArticleError",
    "ArticleParseError",
    "BACKGROUND_SIZE",
    "DEFAULT_MIN_SCORE",
    "DatasetError",
    "Embedder",
    "EvalConfig",
    "EvalResult",
    "FitCache",
    "KbTopics",
    "Matcher",
    "NO_PROGRESS",
    "Prepared",
    "Progress",
    "ReportSimilarity",
    "SEMANTIC_MIN_SCORE",
    "SemanticUnavailable",
    "Suggestion",
    "load_directory",
    "load_embedder",
    "normalize",
    "notes",
    "prepare",
    "run",
    "split",
    "write_directory",
]


def test_the_public_api_is_pinned() -> None:
    assert sorted(kb.__all__) == PUBLIC  # (kb/__init__.py lists them in ruff's isort-style order, RUF022)
    assert len(set(kb.__all__)) == len(kb.__all__)
    assert set(kb._SOURCES) == set(PUBLIC)


@pytest.mark.parametrize("name", PUBLIC)
def test_each_name_is_importable_from_the_package_and_is_its_modules_own(name: str) -> None:
    value = getattr(kb, name)
    namespace: dict[str, object] = {}
    exec(f"from kb import {name}", namespace)
    assert namespace[name] is value
    source = importlib.import_module(kb._SOURCES[name])
    assert getattr(source, name) is value


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        kb.Nothing  # noqa: B018
    from kb import semantic, text

    assert text.normalize is kb.normalize
    assert semantic.load_embedder is kb.load_embedder


def test_importing_the_package_imports_none_of_its_modules_or_their_libraries() -> None:
    code = (
        "import sys, kb; from kb import *; "
        "print(sorted(m for m in sys.modules if m.startswith(('kb.', 'numpy', 'sklearn', 'rapidfuzz', 'torch'))))"
    )
    quiet = "import sys, kb; print(sorted(m for m in sys.modules if m.startswith(('kb.', 'numpy', 'sklearn'))))"
    assert subprocess.run([sys.executable, "-c", quiet], capture_output=True, text=True, check=True).stdout == "[]\n"
    # `from kb import *` loads what it names, but still not scikit-learn or torch
    star = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "sklearn" not in star and "torch" not in star


def _kb_imports(layer: str) -> set[str]:
    """Names the modules of `layer` import from kb's modules (`from kb.x import Name`)."""
    names = set()
    for path in (ROOT / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("kb."):
                names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("layer", ["bot", "adapters"])
def test_every_name_the_outer_layers_take_from_kb_is_public(layer: str) -> None:
    assert _kb_imports(layer) <= set(PUBLIC)
