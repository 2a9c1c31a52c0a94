"""Knowledge-base articles in PostgreSQL: the current version, every earlier one, learned aliases, feedback.

The twin of `bot.store.sqlite.articles` (which explains the model). Two differences come from sharing the
database between processes:

- Any change bumps `kb_revision` and notifies `threaddesk` with the payload `kb`, so the other processes
  reload their matcher when the change commits rather than at their next poll.
- An edit reads before it writes (`save_article`: the version to follow; `learn`: the aliases it must not
  repeat; `unlearn`: the positions an agent saw), so in a writing unit it first locks the one `kb_revision`
  row. KB edits are rare and each ends by updating that row anyway, so taking it first costs little and
  makes them take turns: two saves of one article cannot both write the same version number, and two first
  saves of a new article cannot both insert it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from bot.records import ArticleStats, Learned, Version
from bot.store.postgres.announce import announce
from bot.store.sqlite.articles import AUTHORED_FIELDS, MAX_LEARNED_PER_ARTICLE
from kb.article import Article
from kb.text import normalize


def _article(row: asyncpg.Record, learned: Sequence[str] = ()) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        aliases=tuple(row["aliases"]),
        tags=tuple(row["tags"]),
        category=row["category"],
        body=row["body"],
        learned=tuple(learned),
    )


def _snapshot(article: Article) -> dict[str, Any]:
    """The authored fields, as kept in `kb_versions.snapshot` (tuples become JSON lists)."""
    authored: dict[str, Any] = article.model_dump(include=set(AUTHORED_FIELDS), mode="json")
    return authored


class PgArticles:
    """Implements `bot.repositories.ArticlesRepository`."""

    def __init__(self, conn: asyncpg.Connection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing  # inside Store.transaction(): rows read to be changed are locked (FOR UPDATE)

    async def _take_turn(self) -> None:
        """In a writing unit, wait for any other unit editing the KB to commit (see the module docstring)."""
        if self.writing:
            await self.conn.execute("SELECT value FROM kb_revision WHERE id = 1 FOR UPDATE")

    async def bump_revision(self) -> None:
        await self.conn.execute("UPDATE kb_revision SET value = value + 1 WHERE id = 1")
        await self.conn.execute(f"SELECT {announce('kb')}")  # delivered when the unit commits

    async def revision(self) -> int:
        value = await self.conn.fetchval("SELECT value FROM kb_revision WHERE id = 1")
        return int(value) if value is not None else 0

    async def save_article(self, article: Article, *, actor: str, at: datetime, change: str) -> int | None:
        """Insert or update the authored fields. Returns the new version, or None when nothing changed."""
        await self._take_turn()
        current = await self.get_article(article.id)
        if current is not None and _snapshot(current) == _snapshot(article):
            return None
        old = await self.conn.fetchval("SELECT version FROM kb_articles WHERE id = $1", article.id)
        version = int(old) + 1 if old is not None else 1
        values = (
            article.title,
            list(article.aliases),
            list(article.tags),
            article.category,
            article.body,
            version,
            at,
            actor,
            article.id,
        )
        if old is not None:
            await self.conn.execute(
                "UPDATE kb_articles SET title=$1, aliases=$2, tags=$3, category=$4, body=$5, version=$6,"
                " updated_at=$7, updated_by=$8 WHERE id=$9",
                *values,
            )
        else:
            await self.conn.execute(
                "INSERT INTO kb_articles (title, aliases, tags, category, body, version, updated_at, updated_by, id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                *values,
            )
        await self.conn.execute(
            "INSERT INTO kb_versions (article, version, at, actor, change, snapshot) VALUES ($1, $2, $3, $4, $5, $6)",
            article.id,
            version,
            at,
            actor,
            change,
            _snapshot(article),
        )
        await self.bump_revision()
        return version

    async def get_article(self, article_id: str) -> Article | None:
        row = await self.conn.fetchrow("SELECT * FROM kb_articles WHERE id = $1", article_id)
        if row is None:
            return None
        learned = await self.conn.fetch("SELECT text FROM kb_learned WHERE article = $1 ORDER BY id", article_id)
        return _article(row, [r["text"] for r in learned])

    async def all_articles(self) -> list[Article]:
        """Every article with its learned aliases, ordered by id (byte order, as SQLite sorts text)."""
        learned: dict[str, list[str]] = {}
        for row in await self.conn.fetch("SELECT article, text FROM kb_learned ORDER BY id"):
            learned.setdefault(row["article"], []).append(row["text"])
        rows = await self.conn.fetch('SELECT * FROM kb_articles ORDER BY id COLLATE "C"')
        return [_article(row, learned.get(row["id"], ())) for row in rows]

    async def count_articles(self) -> int:
        return int(await self.conn.fetchval("SELECT count(*) FROM kb_articles"))

    async def versions(self, article_id: str) -> list[Version]:
        rows = await self.conn.fetch(
            "SELECT version, at, actor, change FROM kb_versions WHERE article = $1 ORDER BY version", article_id
        )
        return [Version(r["version"], r["at"], r["actor"], r["change"]) for r in rows]

    async def learned(self, article_id: str) -> list[Learned]:
        rows = await self.conn.fetch(
            "SELECT id, text, source, ticket, at FROM kb_learned WHERE article = $1 ORDER BY id", article_id
        )
        return [Learned(r["id"], r["text"], r["source"], r["ticket"], r["at"]) for r in rows]

    async def learn(self, article_id: str, text: str, *, source: str, ticket: int | None, at: datetime) -> bool:
        """Keep a customer's wording as a learned alias. False when it adds nothing (empty, a duplicate of an
        authored or learned alias). Beyond the cap the oldest learned alias goes."""
        key = normalize(text)
        if not key:
            return False
        await self._take_turn()
        article = await self.get_article(article_id)
        if not key or article is None or key in {normalize(a) for a in (article.title, *article.aliases)}:
            return False
        inserted = await self.conn.fetchval(
            "INSERT INTO kb_learned (article, text, normalised, ticket, source, at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT DO NOTHING RETURNING id",
            article_id,
            text,
            key,
            ticket,
            source,
            at,
        )
        if inserted is None:
            return False
        await self.conn.execute(
            "DELETE FROM kb_learned WHERE article = $1 AND id NOT IN"
            " (SELECT id FROM kb_learned WHERE article = $1 ORDER BY id DESC LIMIT $2)",
            article_id,
            MAX_LEARNED_PER_ARTICLE,
        )
        await self.bump_revision()
        return True

    async def unlearn(self, article_id: str, positions: Sequence[int] | None) -> int:
        """Remove learned aliases by their 1-based position in `learned()`, or all of them (None)."""
        await self._take_turn()
        ids = [entry.id for entry in await self.learned(article_id)]
        doomed = ids if positions is None else [ids[p - 1] for p in positions if 1 <= p <= len(ids)]
        if doomed:
            await self.conn.execute("DELETE FROM kb_learned WHERE id = ANY($1::bigint[])", doomed)
            await self.bump_revision()
        return len(doomed)

    async def record_feedback(self, ticket: int | None, articles: Sequence[str], kind: str, at: datetime) -> None:
        if articles:
            await self.conn.executemany(
                "INSERT INTO kb_feedback (article, ticket, kind, at) VALUES ($1, $2, $3, $4)",
                [(article, ticket, kind, at) for article in articles],
            )

    async def suggested_for(self, ticket: int) -> list[str]:
        """The articles suggested on `ticket`, each once, in the order they were first suggested."""
        rows = await self.conn.fetch(
            "SELECT article FROM kb_feedback WHERE ticket = $1 AND kind = 'suggested' GROUP BY article"
            " ORDER BY min(id)",
            ticket,
        )
        return [r["article"] for r in rows]

    async def stats(self) -> list[ArticleStats]:
        """Per article: times suggested, accepted and rejected, and distinct tickets it helped resolve
        (accepted by the customer or cited by the resolving agent)."""
        rows = await self.conn.fetch(
            """
            SELECT a.id, a.title,
                   count(CASE WHEN f.kind = 'suggested' THEN 1 END) AS suggested,
                   count(CASE WHEN f.kind = 'accepted' THEN 1 END) AS accepted,
                   count(CASE WHEN f.kind = 'rejected' THEN 1 END) AS rejected,
                   count(DISTINCT CASE WHEN f.kind IN ('accepted', 'cited') THEN f.ticket END) AS helped
            FROM kb_articles a LEFT JOIN kb_feedback f ON f.article = a.id
            GROUP BY a.id ORDER BY helped DESC, accepted DESC, a.id COLLATE "C"
            """,
        )
        return [
            ArticleStats(r["id"], r["title"], r["suggested"], r["accepted"], r["rejected"], r["helped"]) for r in rows
        ]
