"""A real HTTP webhook receiver on 127.0.0.1 that verifies every request with the `standardwebhooks`
library (the reference implementation of the scheme, independent of ours) and answers as scripted."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: bool
    payload: dict[str, Any]
    answered: int


HANG = 0


@dataclass
class Receiver:
    secret: str
    requests: list[Received] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    #: a scripted status of HANG makes the request wait (no answer) until `release` is set
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """The next requests get these statuses (then 200 again)."""
        for status in statuses:
            self.script.append(status if isinstance(status, tuple) else (status, {}))

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """Payloads answered 2xx after their signature verified."""
        return [r.payload for r in self.requests if r.verified and 200 <= r.answered < 300]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    payload, verified = json.loads(body), False
                with receiver._lock:
                    status, extra = receiver.script.popleft() if receiver.script else (200, {})
                if status == HANG:
                    receiver.release.wait()
                    return
                with receiver._lock:
                    if not verified:
                        status = 401
                    receiver.requests.append(Received(headers, body, verified, payload, status))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
