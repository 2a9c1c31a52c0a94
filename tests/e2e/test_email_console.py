"""The newcomer's e-mail tour, end to end: `threaddesk console` with `[email]` on, a real mail server on
each side (the customer's via smtplib, the outbound relay an aiosmtpd server), an agent typing in the
console."""

from __future__ import annotations

import asyncio
import queue
import re
import smtplib
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from tests.e2e.test_console import CONFIG, ROOT
from tests.fakes.smtp_relay import RecordingRelay

SUPPORT = "help@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Console:
    """`threaddesk console` fed line by line, its output read as it comes."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-X", "faulthandler", "-m", "adapters.cli", "console", *args]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        assert self.process.stdout is not None
        out = self.process.stdout

        def read() -> None:
            for line in out:
                self.lines.put(line)
            self.lines.put(None)  # the console exited

        threading.Thread(target=read, daemon=True).start()

    async def until(self, wanted: Callable[[str], bool], what: str) -> str:
        while True:
            try:
                line = await asyncio.to_thread(self.lines.get, True, 240)
            except queue.Empty:
                raise AssertionError(f"the console never showed {what}:\n" + "".join(self.seen[-40:])) from None
            if line is None:
                assert self.process.stderr is not None
                raise AssertionError(f"the console exited before showing {what}: {self.process.stderr.read()}")
            self.seen.append(line)
            if wanted(line):
                return line

    def type(self, *lines: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("".join(line + "\n" for line in lines))
        self.process.stdin.flush()

    def close(self) -> tuple[int, str]:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=60)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


async def send(port: int, mail: EmailMessage) -> str:
    def deliver() -> str:
        with smtplib.SMTP("127.0.0.1", port, local_hostname="mx.example.org", timeout=30) as client:
            client.ehlo()
            client.mail("dave@example.org")
            client.rcpt(SUPPORT)
            code, answer = client.data(mail.as_bytes(policy=policy.SMTP))
            return f"{code} {answer.decode()}"

    return await asyncio.to_thread(deliver)


def mail(subject: str, body: str, in_reply_to: str | None = None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Dave Customer <dave@example.org>"
    m["To"] = SUPPORT
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="example.org")
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    m.set_content(body)
    return m


async def until_mail(relay: RecordingRelay, count: int) -> EmailMessage:
    while len(relay.mails) < count:
        relay.arrived.clear()
        await asyncio.wait_for(relay.arrived.wait(), 60)
    return relay.mails[count - 1]


async def test_email_ticket_worked_from_the_console(tmp_path: Path) -> None:
    relay = await RecordingRelay().start()
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        re.sub(r"(?ms)^\[email\]\n.*?(?=^\[|\Z)", "", CONFIG.read_text())  # ours replaces the example's
        .replace("suggestions = 3", "suggestions = 0")
        .replace('path = "kb/sample"', f'path = "{ROOT / "kb" / "sample"}"')
        + f"""
[email]
enabled = true
port = {port}
recipients = ["{SUPPORT}"]
smtp_url = "smtp://127.0.0.1:{relay.port}"
""",
        encoding="utf-8",
    )
    console = Console("--config", str(config), "--db", str(tmp_path / "desk.db"))
    try:
        await console.until(lambda line: line.startswith("ThreadDesk console"), "its banner")
        first = mail("Order 1234 never arrived", "Hello, my order 1234 has not arrived yet.\n\nDave")
        assert await send(port, first) == "250 2.0.0 OK: ticket #1"
        card = await console.until(lambda line: "via e-mail" in line, "the card")
        assert "Customer: Dave Customer via e-mail" in card
        assert any("#1 · Order 1234 never arrived" in line for line in console.seen[-3:])
        ack = await until_mail(relay, 1)
        assert ack["Subject"] == "[#1] Re: Order 1234 never arrived" and ack["In-Reply-To"] == first["Message-ID"]

        console.type("/as bob", "/ticket reply 1 It left our warehouse today; tracking follows.")
        answer = await until_mail(relay, 2)
        assert relay.text(answer).startswith("Bob: It left our warehouse today; tracking follows.")
        assert answer["To"] == "Dave Customer <dave@example.org>"

        reply = mail(
            "Re: [#1] Re: Order 1234 never arrived", "Great, thanks!\n\n> Bob: It left", str(answer["Message-ID"])
        )
        assert await send(port, reply) == "250 2.0.0 OK: ticket #1"
        await console.until(lambda line: "Dave Customer wrote on #1: Great, thanks!" in line, "the customer's reply")
    finally:
        code, errors = console.close()
        await relay.stop()
    assert code == 0, errors
    assert "Traceback" not in errors
