"""Knowledge-base articles in SQLite: the current version, every earlier one, learned aliases, feedback.

Authored fields (title, aliases, tags, category, body) are versioned: each change that alters them writes
a snapshot with who and when. Learned aliases — customers' own wordings, taken from use — live apart so
agents can see and remove them without touching what an author wrote. Any change bumps `kb_revision`,
which a running bot polls to reload its matcher.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.records import ArticleStats, Learned, Version
from bot.store.sqlite.connection import fetch_all, fetch_one, from_db, to_db
from kb.article import Article
from kb.text import normalize

MAX_LEARNED_PER_ARTICLE = 50
"""Oldest learned aliases are dropped beyond this: recent wording is worth more, and the index stays small."""

AUTHORED_FIELDS = ("title", "aliases", "tags", "category", "body")


def _article(row: sqlite3.Row, learned: Sequence[str] = ()) -> Article:
    return Article(
        id=row["id"],
        title=row["title"],
        aliases=tuple(json.loads(row["aliases"])),
        tags=tuple(json.loads(row["tags"])),
        category=row["category"],
        body=row["body"],
        learned=tuple(learned),
    )


def _snapshot(article: Article) -> str:
    return json.dumps(article.model_dump(include=set(AUTHORED_FIELDS)), ensure_ascii=False)


class SqliteArticles:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def bump_revision(self) -> None:
        self.conn.execute("UPDATE kb_revision SET value = value + 1 WHERE id = 1")

    async def revision(self) -> int:
        row = fetch_one(self.conn, "SELECT value FROM kb_revision WHERE id = 1")
        return int(row["value"]) if row else 0

    async def save_article(self, article: Article, *, actor: str, at: datetime, change: str) -> int | None:
        """Insert or update the authored fields. Returns the new version, or None when nothing changed."""
        current = await self.get_article(article.id)
        if current is not None and _snapshot(current) == _snapshot(article):
            return None
        row = fetch_one(self.conn, "SELECT version FROM kb_articles WHERE id = ?", (article.id,))
        version = int(row["version"]) + 1 if row else 1
        values = (
            article.title,
            json.dumps(list(article.aliases), ensure_ascii=False),
            json.dumps(list(article.tags), ensure_ascii=False),
            article.category,
            article.body,
            version,
            to_db(at),
            actor,
            article.id,
        )
        if row:
            self.conn.execute(
                "UPDATE kb_articles SET title=?, aliases=?, tags=?, category=?, body=?, version=?, updated_at=?,"
                " updated_by=? WHERE id=?",
                values,
            )
        else:
            self.conn.execute(
                "INSERT INTO kb_articles (title, aliases, tags, category, body, version, updated_at, updated_by, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        self.conn.execute(
            "INSERT INTO kb_versions (article, version, at, actor, change, snapshot) VALUES (?, ?, ?, ?, ?, ?)",
            (article.id, version, to_db(at), actor, change, _snapshot(article)),
        )
        await self.bump_revision()
        return version

    async def get_article(self, article_id: str) -> Article | None:
        row = fetch_one(self.conn, "SELECT * FROM kb_articles WHERE id = ?", (article_id,))
        if row is None:
            return None
        learned = fetch_all(self.conn, "SELECT text FROM kb_learned WHERE article = ? ORDER BY id", (article_id,))
        return _article(row, [r["text"] for r in learned])

    async def all_articles(self) -> list[Article]:
        """Every article with its learned aliases, ordered by id (two queries, whatever the KB size)."""
        learned: dict[str, list[str]] = {}
        for row in fetch_all(self.conn, "SELECT article, text FROM kb_learned ORDER BY id"):
            learned.setdefault(row["article"], []).append(row["text"])
        rows = fetch_all(self.conn, "SELECT * FROM kb_articles ORDER BY id")
        return [_article(row, learned.get(row["id"], ())) for row in rows]

    async def count_articles(self) -> int:
        row = fetch_one(self.conn, "SELECT count(*) AS n FROM kb_articles")
        return int(row["n"]) if row else 0

    async def versions(self, article_id: str) -> list[Version]:
        rows = fetch_all(
            self.conn,
            "SELECT version, at, actor, change FROM kb_versions WHERE article = ? ORDER BY version",
            (article_id,),
        )
        return [Version(r["version"], from_db(r["at"]), r["actor"], r["change"]) for r in rows]

    async def learned(self, article_id: str) -> list[Learned]:
        rows = fetch_all(
            self.conn,
            "SELECT id, text, source, ticket, at FROM kb_learned WHERE article = ? ORDER BY id",
            (article_id,),
        )
        return [Learned(r["id"], r["text"], r["source"], r["ticket"], from_db(r["at"])) for r in rows]

    async def learn(self, article_id: str, text: str, *, source: str, ticket: int | None, at: datetime) -> bool:
        """Keep a customer's wording as a learned alias. False when it adds nothing (empty, a duplicate of an
        authored or learned alias). Beyond the cap the oldest learned alias goes."""
        key = normalize(text)
        article = await self.get_article(article_id)
        if not key or article is None or key in {normalize(a) for a in (article.title, *article.aliases)}:
            return False
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO kb_learned (article, text, normalised,"
            " ticket, source, at) VALUES (?, ?, ?, ?, ?, ?)",
            (article_id, text, key, ticket, source, to_db(at)),
        )
        if cur.rowcount == 0:
            return False
        self.conn.execute(
            "DELETE FROM kb_learned WHERE article = ? AND id NOT IN"
            " (SELECT id FROM kb_learned WHERE article = ? ORDER BY id DESC LIMIT ?)",
            (article_id, article_id, MAX_LEARNED_PER_ARTICLE),
        )
        await self.bump_revision()
        return True

    async def unlearn(self, article_id: str, positions: Sequence[int] | None) -> int:
        """Remove learned aliases by their 1-based position in `learned()`, or all of them (None)."""
        ids = [entry.id for entry in await self.learned(article_id)]
        doomed = ids if positions is None else [ids[p - 1] for p in positions if 1 <= p <= len(ids)]
        for learned_id in doomed:
            self.conn.execute("DELETE FROM kb_learned WHERE id = ?", (learned_id,))
        if doomed:
            await self.bump_revision()
        return len(doomed)

    async def record_feedback(self, ticket: int | None, articles: Sequence[str], kind: str, at: datetime) -> None:
        self.conn.executemany(
            "INSERT INTO kb_feedback (article, ticket, kind, at) VALUES (?, ?, ?, ?)",
            [(article, ticket, kind, to_db(at)) for article in articles],
        )

    async def suggested_for(self, ticket: int) -> list[str]:
        rows = fetch_all(
            self.conn,
            "SELECT DISTINCT article FROM kb_feedback WHERE ticket = ? AND kind = 'suggested' ORDER BY id",
            (ticket,),
        )
        return [r["article"] for r in rows]

    async def stats(self) -> list[ArticleStats]:
        """Per article: times suggested, accepted and rejected, and distinct tickets it helped resolve
        (accepted by the customer or cited by the resolving agent)."""
        rows = fetch_all(
            self.conn,
            """
            SELECT a.id, a.title,
                   count(CASE WHEN f.kind = 'suggested' THEN 1 END) AS suggested,
                   count(CASE WHEN f.kind = 'accepted' THEN 1 END) AS accepted,
                   count(CASE WHEN f.kind = 'rejected' THEN 1 END) AS rejected,
                   count(DISTINCT CASE WHEN f.kind IN ('accepted', 'cited') THEN f.ticket END) AS helped
            FROM kb_articles a LEFT JOIN kb_feedback f ON f.article = a.id
            GROUP BY a.id ORDER BY helped DESC, accepted DESC, a.id
            """,
        )
        return [
            ArticleStats(r["id"], r["title"], r["suggested"], r["accepted"], r["rejected"], r["helped"]) for r in rows
        ]
