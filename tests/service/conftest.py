"""The service suite runs on both store engines: every test once on SQLite and once on PostgreSQL — except
tests marked `sqlite_only`, which reach under the port into SQLite itself (its file, raw SQL on it)."""

from __future__ import annotations

import pytest


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("engine", ["sqlite"] if only_sqlite else ["sqlite", "postgresql"])
