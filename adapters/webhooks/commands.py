"""`threaddesk webhooks list | test NAME | deliveries [--failed] | redeliver ID`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from adapters.help import example
from adapters.webhooks.sender import Attempt, WebhookSender, WebhookSetupError, load_endpoints, make_worker
from bot.config import Settings
from bot.ports import SystemClock
from bot.records import Delivery
from bot.storage import open_configured
from bot.webhooks.config import TEST_TYPE
from bot.webhooks.payload import envelope

SettingsLoader = Callable[[Path | None, Path | None], Settings]
Fail = Callable[[str, int], typer.Exit]

out = Console(highlight=False, soft_wrap=True, markup=False)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="THREADDESK_CONFIG", help="TOML config (see config.example.toml)."),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", envvar="THREADDESK_DB", help="SQLite file; overrides [store] path.")
]


def _when(delivery: Delivery) -> str:
    return f"{delivery.created_at:%Y-%m-%d %H:%M:%S}"


def _outcome(d: Delivery) -> str:
    if d.state == "delivered":
        return f"{d.answer or 'delivered'} after {d.attempts} attempt(s)"
    if d.state == "failed":
        return f"failed after {d.attempts} attempt(s): {d.last_error or ''}"
    tried = f"; last: {d.last_error}" if d.last_error else ""
    return f"pending, next attempt {d.next_attempt_at:%H:%M:%S}{tried}"


def build_app(load: SettingsLoader, fail: Fail) -> typer.Typer:
    app = typer.Typer(
        help="Outbound webhooks: endpoints, tests, the delivery log.",
        no_args_is_help=True,
        epilog=example("threaddesk webhooks list", "threaddesk webhooks test tracker"),
    )

    @app.command("list", epilog=example("threaddesk webhooks list --config config.toml"))
    def list_(config: ConfigOpt = None, db: DbOpt = None) -> None:
        """The endpoints in [[webhooks]]: URL, events, whether internal notes go, whether the secret is set."""
        settings = load(config, db)
        if not settings.webhooks:
            out.print("No webhooks configured. Add a [[webhooks]] table (see README, “Webhooks”).")
            return
        out.print(f"{len(settings.webhooks)} webhook endpoint(s):")
        for hook in settings.webhooks:
            try:
                load_endpoints((hook,))
                secret = f"${hook.secret_env} ✓"
            except WebhookSetupError as exc:
                secret = f"${hook.secret_env} ✗ ({str(exc).split(' — ')[0].split(': ', 1)[-1]})"
            out.print(f"• {hook.label} → {hook.url}")
            out.print(
                f"  events: {', '.join(hook.events)} · internal notes: {'yes' if hook.include_internal else 'no'}"
                f" · secret: {secret} · gives up after {hook.give_up_after}"
            )

    @app.command("test", epilog=example("threaddesk webhooks test tracker"))
    def test(name: str, config: ConfigOpt = None, db: DbOpt = None) -> None:
        """Send one signed `webhook.test` event to NAME now and show the answer (not retried)."""
        settings = load(config, db)
        hooks = {h.label: h for h in settings.webhooks}
        if name not in hooks:
            known = ", ".join(hooks) or "none configured"
            raise fail(f"there is no webhook called {name!r} (known: {known})", 1)
        try:
            endpoint = load_endpoints((hooks[name],))[name]
        except WebhookSetupError as exc:
            raise fail(str(exc), 2) from None
        clock = SystemClock()
        data = {"message": "A test from `threaddesk webhooks test`. Verify its signature like any event."}
        body = envelope(TEST_TYPE, data, clock.now())

        async def send() -> Attempt:
            sender = WebhookSender({name: endpoint}, clock)
            try:
                return await sender.attempt(endpoint, body)
            finally:
                await sender.close()

        result = asyncio.run(send())
        if not result.ok:
            raise fail(f"{name} ({hooks[name].url}): {result.detail} — the test event was not accepted", 1)
        out.print(f"✓ {name} accepted the test event: {result.detail} in {result.seconds * 1000:.0f} ms.")

    @app.command("deliveries", epilog=example("threaddesk webhooks deliveries --failed"))
    def deliveries(
        failed: Annotated[bool, typer.Option("--failed", help="Only deliveries that were given up.")] = False,
        limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
        config: ConfigOpt = None,
        db: DbOpt = None,
    ) -> None:
        """The delivery log, newest first: event, ticket, endpoint and what came of it."""
        settings = load(config, db)

        async def read() -> list[Delivery]:
            async with open_configured(settings) as database, database.reading() as uow:
                return await uow.webhook_deliveries.list_deliveries(failed_only=failed, limit=limit)

        found = asyncio.run(read())
        what = "failed deliveries" if failed else "deliveries"
        if not found:
            out.print(f"No {what} yet.")
            return
        out.print(f"Webhook {what}, newest first ({len(found)} shown):")
        for d in found:
            ticket = f" for #{d.ticket}" if d.ticket is not None else ""
            out.print(f"{d.id:>6}  {_when(d)}  {d.event_type}{ticket} → {d.endpoint}: {_outcome(d)}")
        if any(d.state == "failed" for d in found):
            out.print("Send one again with `threaddesk webhooks redeliver ID`.")

    @app.command("redeliver", epilog=example("threaddesk webhooks redeliver 17"))
    def redeliver(delivery_id: Annotated[int, typer.Argument(help="ID from `webhooks deliveries`.")],
                  config: ConfigOpt = None, db: DbOpt = None) -> None:  # fmt: skip
        """Send a delivery again (same body and webhook-id), now; if that fails the bot keeps retrying it."""
        settings = load(config, db)
        try:
            endpoints = load_endpoints(settings.webhooks)
        except WebhookSetupError as exc:
            raise fail(str(exc), 2) from None
        clock = SystemClock()

        async def again() -> tuple[Delivery | None, Delivery | None]:
            async with open_configured(settings) as database:
                async with database.transaction() as uow:
                    new_id = await uow.webhook_deliveries.requeue(delivery_id, clock.now())
                if new_id is None:
                    return None, None
                async with database.reading() as uow:
                    row = await uow.webhook_deliveries.pending_row(new_id)
                sender = WebhookSender(endpoints, clock)
                try:
                    if row is not None:
                        await make_worker(database, sender, clock).deliver_one(row)
                finally:
                    await sender.close()
                async with database.reading() as uow:
                    return await uow.webhook_deliveries.get_delivery(
                        delivery_id
                    ), await uow.webhook_deliveries.get_delivery(new_id)

        old, new = asyncio.run(again())
        if old is None or new is None:
            raise fail(f"there is no webhook delivery {delivery_id} (see `threaddesk webhooks deliveries`)", 1)
        ticket = f" for #{new.ticket}" if new.ticket is not None else ""
        out.print(f"Delivery {delivery_id} ({new.event_type}{ticket} to {new.endpoint}) sent again as {new.id}: "
                  f"{_outcome(new)}.")  # fmt: skip
        if new.state == "pending":
            out.print("The running bot keeps retrying it (`threaddesk run`).")

    return app


__all__ = ["build_app"]
