"""Commands on a PostgreSQL desk: the URL from the environment, its password never shown."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from adapters.cli import app
from bot.config import ConfigError, settings_from_dict
from bot.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION
from tests import pg


async def test_db_migrate_takes_the_url_from_the_environment_and_masks_its_password() -> None:
    await pg.require_server()
    async with pg.fresh_schema() as schema:
        await pg.create_schema(schema)
        # trust authentication ignores the password: enough to see that it is never printed
        url = pg.URL.replace("postgres@", "postgres:hunter2@") + f"?search_path={schema}"
        shown = url.replace("hunter2", "***")
        env = {"THREADDESK_DATABASE_URL": url}
        first = await asyncio.to_thread(CliRunner().invoke, app, ["db", "migrate"], env=env)
        assert first.exit_code == 0, first.output
        assert first.output.strip() == (
            f"Migrated {shown} to schema version {SCHEMA_VERSION} (applied {sorted(MIGRATIONS)})."
        )
        again = await asyncio.to_thread(CliRunner().invoke, app, ["db", "migrate"], env=env)
        assert again.output.strip() == f"{shown} is up to date (schema version {SCHEMA_VERSION})."
        checked = await asyncio.to_thread(CliRunner().invoke, app, ["db", "check"], env=env)
        assert checked.exit_code == 0 and "hunter2" not in checked.output


def test_a_password_in_the_config_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="keep secrets out of files: set THREADDESK_DATABASE_URL instead"):
        settings_from_dict({"store": {"url": "postgresql://desk:hunter2@db:5432/desk"}}, {})


def test_an_unreachable_server_is_one_line() -> None:
    env = {"THREADDESK_DATABASE_URL": "postgresql://desk@127.0.0.1:1/desk"}
    result = CliRunner().invoke(app, ["db", "migrate"], env=env)
    assert result.exit_code == 2
    assert "cannot reach PostgreSQL at postgresql://desk@127.0.0.1:1/desk" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
