"""`threaddesk kb …` in the terminal: import, export, list, show, search and statistics.

Each function takes an open database and returns what to print, so the typer commands in `adapters.cli`
stay thin and these stay testable.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from bot.ports import Clock, Store
from bot.services.knowledge import ImportOutcome, KnowledgeLibrary, import_articles
from kb.loader import ArticleError, load_directory
from kb.progress import NO_PROGRESS, Progress
from kb.writer import write_directory


async def import_folder(
    db: Store, folder: Path, clock: Clock, progress: Progress = NO_PROGRESS
) -> tuple[ImportOutcome, list[ArticleError]]:
    """Every good article in `folder` is imported (new version when changed); bad files are reported."""
    result = load_directory(folder, progress)
    outcome = await import_articles(
        db, result.articles, actor="cli", at=clock.now(), source=str(folder), progress=progress
    )
    return outcome, result.errors


async def export_folder(db: Store, folder: Path) -> list[Path]:
    async with db.reading() as uow:
        found = await uow.articles.all_articles()
    return write_directory(folder, found)


async def list_table(db: Store) -> Table:
    async with db.reading() as uow:
        found = await uow.articles.all_articles()
    table = Table(title=f"Knowledge base — {len(found)} article(s)")
    table.add_column("id", no_wrap=True)
    for column in ("Title", "Aliases", "Learned", "Category", "Tags"):
        table.add_column(column, overflow="fold")
    for a in found:
        table.add_row(a.id, a.title, str(len(a.aliases)), str(len(a.learned)), a.category or "—", ", ".join(a.tags))
    return table


async def show_text(db: Store, article_id: str) -> str | None:
    async with db.reading() as uow:
        article = await uow.articles.get_article(article_id)
        if article is None:
            return None
        learned = await uow.articles.learned(article_id)
        history = await uow.articles.versions(article_id)
    lines = [f"{article.title} [{article.id}]", f"Category: {article.category or '—'} · Tags: {_list(article.tags)}"]
    lines.append("Aliases:")
    lines += [f"  - {alias}" for alias in article.aliases] or ["  (none)"]
    lines.append("Learned from customers:")
    lines += [f"  {i}. {e.text}  ({e.source}, ticket #{e.ticket})" for i, e in enumerate(learned, 1)] or ["  (none)"]
    lines += ["", article.body.strip() or "(no body)", "", "Versions:"]
    lines += [f"  v{v.version} {v.at:%Y-%m-%d %H:%M} UTC by {v.actor}: {v.change}" for v in history]
    return "\n".join(lines)


async def search_table(db: Store, library: KnowledgeLibrary, text: str, limit: int) -> Table:
    await library.load(db)
    hits = library.rank(text)[:limit]
    table = Table(title=f"“{text}” — threshold {library.min_score:.0f}; below it nothing is suggested")
    table.add_column("Score")
    table.add_column("id", no_wrap=True)
    for column in ("Title", "Best match", "Suggested"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        table.add_row(
            f"{hit.score:.1f}",
            hit.article.id,
            hit.article.title,
            hit.matched,
            "yes" if hit.score >= library.min_score else "no",
        )
    return table


async def stats_table(db: Store) -> Table:
    async with db.reading() as uow:
        rows = await uow.articles.stats()
    table = Table(title="Knowledge base use")
    table.add_column("id", no_wrap=True)
    table.add_column("Title", overflow="fold")
    for column in ("Suggested", "Accepted", "Rejected", "Helped resolve"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(r.article, r.title, str(r.suggested), str(r.accepted), str(r.rejected), str(r.helped_resolve))
    return table


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(values) or "—"
