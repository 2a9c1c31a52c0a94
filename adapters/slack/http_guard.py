"""Refuse what Slack did not sign before bolt reads it.

bolt decodes the body as UTF-8 and parses the timestamp header before it checks the signature, so a
non-UTF-8 body or a timestamp that is not a number became an HTTP 500 with a traceback. This middleware
checks the signature on the raw bytes first: anything unsigned (or signed more than five minutes ago) is a
401 with one log line; a signed body that is not UTF-8 (Slack never sends one) is a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60  # Slack's own advice against replays


def is_signed(secret: str, body: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Slack's v0 scheme over the raw bytes (slack_sdk's verifier decodes the body first, and so fails
    on exactly the requests this guard exists for)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def signed_requests_only(signing_secret: str, now: Callable[[], float] = time.time) -> Middleware:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not is_signed(signing_secret, body, timestamp, signature, now()):
            log.warning("Slack: refused a request to %s without a valid signature (HTTP 401)", request.path)
            return web.Response(status=401, text="invalid request")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("Slack: refused a signed request whose body is not UTF-8 (HTTP 400)")
            return web.Response(status=400, text="body is not UTF-8")
        return await handler(request)

    return check
