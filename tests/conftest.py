"""Shared fixtures: a real SQLite file (or PostgreSQL schema) per test, a fake clock, a recording platform,
the sample KB."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import build_desk, open_knowledge_base
from bot.config import PlatformChannels, Settings, settings_from_dict
from bot.delivery import DeliveryWorker
from bot.domain.inbound import IncomingMessage
from bot.domain.refs import UserRef
from bot.ports import Store
from bot.services.desk import Desk
from bot.services.knowledge import KnowledgeLibrary
from bot.storage import open_store
from bot.store.postgres.engine import PostgresStore
from kb.article import Article
from kb.matcher import Matcher
from tests import pg
from tests.fakes.clock import FakeClock
from tests.fakes.platform import RecordingPlatform

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "kb" / "sample"

ALICE = UserRef(platform="test", id="alice", name="Alice")
CAROL = UserRef(platform="test", id="carol", name="Carol")
BOB = UserRef(platform="test", id="bob", name="Bob")
ERIN = UserRef(platform="test", id="erin", name="Erin")
DANA = UserRef(platform="test", id="dana", name="Dana")

BASE_CONFIG: dict[str, Any] = {
    "roles": {"agents": ["test:bob", "test:erin"], "leads": ["test:dana"]},
    "intake": {
        "max_open_per_customer": 3,
        "rules": [{"match": r"\b(outage|down)\b", "priority": "urgent", "category": "incident"}],
    },
    "test": {
        "enabled": True,
        "intake_channels": ["support"],
        "queue_channel": "queue",
        "leads_channel": "leads",
    },
}


def make_settings(**overrides: Any) -> Settings:
    raw = {**BASE_CONFIG, **overrides}
    return settings_from_dict(raw, {"test": PlatformChannels})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform() -> RecordingPlatform:
    return RecordingPlatform()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "desk.db"


@pytest.fixture
def engine() -> str:
    """The store engine a test runs on; the service and store suites run on both (tests/service/conftest.py)."""
    return "sqlite"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new desk file as `open_store` creates and migrates it, made once per test session (per xdist worker).
    Migrating is the same every time (the file comes out byte for byte the same), and creating it costs a test
    ~30 ms, most of it waiting for the disk (the switch to WAL, the schema's commits), where opening a copy
    costs ~1 ms. Migrating itself is tested where a test opens a path of its own (`open_store(db_path)`)."""
    path = tmp_path_factory.mktemp("migrated") / "desk.db"

    async def create() -> None:
        async with open_store(path):
            pass

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, wherever this session fixture is first asked for
        thread.submit(asyncio.run, create()).result()
    return path


@pytest.fixture
async def db(db_path: Path, engine: str, migrated_sqlite: Path) -> AsyncIterator[Store]:
    if engine == "postgresql":
        await pg.require_server()
        async with pg.fresh_store() as shared:
            yield shared
        return
    shutil.copyfile(migrated_sqlite, db_path)  # a new desk, as migrated: see `migrated_sqlite`
    async with open_store(db_path) as database:
        yield database


def open_again(db: Store) -> AbstractAsyncContextManager[Store]:
    """The same desk opened again, as another process would (`threaddesk kb import` while the bot runs)."""
    if isinstance(db, PostgresStore):
        assert db.schema is not None
        return pg.open_in(db.schema)
    return open_store(db.location)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


_matchers: dict[tuple[object, ...], Matcher] = {}


def shared_matcher(articles: Sequence[Article], **options: Any) -> Matcher:
    """A matcher is immutable (learning derives a new one), so the same articles and options are fitted
    once per test session: fitting the sample KB's classifier is most of a service test's time otherwise."""
    key = (tuple(a.model_dump_json() for a in articles), tuple(sorted(options.items(), key=lambda kv: kv[0])))
    if key not in _matchers:
        _matchers[key] = Matcher(articles, **options)
    return _matchers[key]


@pytest.fixture
async def knowledge(settings: Settings, db: Store, clock: FakeClock) -> KnowledgeLibrary:
    """The bundled sample knowledge base, seeded into the test database."""
    return await open_knowledge_base(settings, db, clock, build=shared_matcher)


@pytest.fixture
def desk(settings: Settings, db: Store, knowledge: KnowledgeLibrary, clock: FakeClock) -> Desk:
    return build_desk(settings, db, kb=knowledge, clock=clock)


@pytest.fixture
def worker(db: Store, platform: RecordingPlatform, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(db, {platform.name: platform}, clock)


_ids = iter(range(1, 10**9))


def dm(author: UserRef, text: str, *, message_id: str | None = None, thread: str | None = None) -> IncomingMessage:
    """A message `author` writes in their DM with the bot (in `thread` when given)."""
    return IncomingMessage(
        platform=author.platform,
        message_id=message_id or f"m{next(_ids)}",
        author=author,
        channel=f"dm-{author.id}",
        thread=thread,
        text=text,
        is_direct=True,
    )


#: Tests that take far longer than any other, run first: the PostgreSQL chaos test (processes killed and
#: restarted for a minute or more) must not start late and leave the other worker idle at the end
FIRST = ("tests/e2e/test_chaos_postgres.py::",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))  # stable: the rest keep their order


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n 2` hands tests out in batches fixed in advance, so the tests sent behind the chaos test waited for it
    while the other worker ran out of work; work stealing takes them over (`--dist worksteal`)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """One cache folder for the whole run (`kb.fit_cache`), shared by the xdist workers and every `threaddesk`
    process they start (they inherit the environment): the sample KB's classifier is fitted once per run,
    never read from or written to the user's own cache."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has set it
        return
    os.environ.pop("CACHE_DIRECTORY", None)
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="threaddesk-test-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ["XDG_CACHE_HOME"], ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    asyncio.run(pg.drop_spares())  # the schemas this process (an xdist worker) kept for `db` on PostgreSQL
    pg.finish_drops()  # the databases it is dropping (`pg.fresh_database`)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    problem = pg._answer.get("problem")
    if problem:
        terminalreporter.write_line(
            f"PostgreSQL store tests skipped: no server at {pg.URL} ({problem})", yellow=True, bold=True
        )
