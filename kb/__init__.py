"""The knowledge base: articles, their files, suggesting them for a message, grouping similar reports, and
the evaluation protocol.

`__all__` is the API the outer layers (`bot`, `adapters`) use; tests/kb/test_public_api.py pins it. Each
name is re-exported lazily, on first use, from the module that defines it: importing one name (or any
`kb.*` module) does not import every module of the package — that would cost about half a second of
numpy, rapidfuzz, pydantic and PyYAML before anything is used, and `kb.semantic` may pull torch when its
embedder is loaded. Other names stay importable from their modules (`kb.matcher.Scoring`, `kb.bm25`, …)
for benchmarks and tests, without a promise.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # what `typing.TYPE_CHECKING` is at run time, without importing typing (~8 ms)
if TYPE_CHECKING:
    from kb.article import Article
    from kb.datasets import DatasetError
    from kb.eval_protocol import EvalConfig, EvalResult, notes, run
    from kb.fit_cache import FitCache
    from kb.frontmatter import ArticleParseError, split
    from kb.grouping import BACKGROUND_SIZE, Prepared, ReportSimilarity, prepare
    from kb.loader import ArticleError, load_directory
    from kb.matcher import DEFAULT_MIN_SCORE, Embedder, Matcher, Suggestion
    from kb.progress import NO_PROGRESS, Progress
    from kb.semantic import SEMANTIC_MIN_SCORE, SemanticUnavailable, load_embedder
    from kb.text import normalize
    from kb.topics import KbTopics
    from kb.writer import write_directory

_SOURCES: dict[str, str] = {
    "Article": "kb.article",
    "DatasetError": "kb.datasets",
    "EvalConfig": "kb.eval_protocol",
    "EvalResult": "kb.eval_protocol",
    "notes": "kb.eval_protocol",
    "run": "kb.eval_protocol",
    "FitCache": "kb.fit_cache",
    "ArticleParseError": "kb.frontmatter",
    "split": "kb.frontmatter",
    "BACKGROUND_SIZE": "kb.grouping",
    "Prepared": "kb.grouping",
    "ReportSimilarity": "kb.grouping",
    "prepare": "kb.grouping",
    "ArticleError": "kb.loader",
    "load_directory": "kb.loader",
    "DEFAULT_MIN_SCORE": "kb.matcher",
    "Embedder": "kb.matcher",
    "Matcher": "kb.matcher",
    "Suggestion": "kb.matcher",
    "NO_PROGRESS": "kb.progress",
    "Progress": "kb.progress",
    "SEMANTIC_MIN_SCORE": "kb.semantic",
    "SemanticUnavailable": "kb.semantic",
    "load_embedder": "kb.semantic",
    "normalize": "kb.text",
    "KbTopics": "kb.topics",
    "write_directory": "kb.writer",
}

__all__ = [
    "BACKGROUND_SIZE",
    "DEFAULT_MIN_SCORE",
    "NO_PROGRESS",
    "SEMANTIC_MIN_SCORE",
    "Article",
    "ArticleError",
    "ArticleParseError",
    "DatasetError",
    "Embedder",
    "EvalConfig",
    "EvalResult",
    "FitCache",
    "KbTopics",
    "Matcher",
    "Prepared",
    "Progress",
    "ReportSimilarity",
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


def __getattr__(name: str) -> object:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'kb' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value  # later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
