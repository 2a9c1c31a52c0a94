"""The operator's HTTP endpoints: /healthz, /readyz and /metrics.

`add_ops_routes(app, probe)` adds them to any aiohttp application — the `[web]` dashboard's server when
it runs, so one port serves both. Otherwise `OpsServer` serves them alone on `[ops] host/port`
(127.0.0.1 unless configured: metrics and health say how busy the desk is, not for the internet).
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.health import Probe

log = logging.getLogger(__name__)

PROBE_KEY = web.AppKey("threaddesk_probe", Probe)


def add_ops_routes(app: web.Application, probe: Probe) -> None:
    app[PROBE_KEY] = probe
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)


async def _healthz(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    readiness = await request.app[PROBE_KEY].readiness()
    return web.json_response(readiness.to_json(), status=200 if readiness.ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = await request.app[PROBE_KEY].metrics()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class OpsStartupError(Exception):
    pass


class OpsServer:
    """The endpoints on their own port (when no dashboard server carries them)."""

    def __init__(self, probe: Probe, host: str, port: int) -> None:
        self.app = web.Application()
        add_ops_routes(self.app, probe)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Listen; returns the port bound (0 in the config picks a free one)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise OpsStartupError(
                f"ops endpoints: cannot listen on {self.host}:{self.port} ({exc.strerror}) — change [ops] host/port"
            ) from None
        bound = int(self._runner.addresses[0][1])
        log.info("ops: /healthz, /readyz and /metrics on http://%s:%d", self.host, bound)
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
