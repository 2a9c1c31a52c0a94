"""A small IMAP4rev1 server (RFC 3501) on 127.0.0.1 holding one mailbox in memory, for the IMAP poller.

It speaks what a client polling a folder needs, in the RFC's wire format: the greeting, CAPABILITY,
LOGIN, SELECT (FLAGS, EXISTS, RECENT, UIDVALIDITY, UIDNEXT and a READ-WRITE tagged OK), UID SEARCH
(`UNSEEN`, `ALL`), UID FETCH of `RFC822`, `BODY[]` or `BODY.PEEK[]` (literals `{n}`; like a real server,
RFC822 and BODY[] set `\\Seen` implicitly, BODY.PEEK[] does not), UID STORE `+FLAGS (\\Seen)`, NOOP and
LOGOUT (untagged BYE). Anything else is answered `BAD`; commands before LOGIN / SELECT are refused as
the RFC's states require.

`drop_on_store` makes the next STORE drop the connection unanswered: the client "crashed" after handling a
mail and before marking it seen.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')


@dataclass
class StoredMail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


def _tokens(line: bytes) -> list[str]:
    out = []
    for quoted, atom in _TOKEN.findall(line):
        if atom:
            out.append(atom.decode())
        else:
            out.append(re.sub(rb"\\(.)", rb"\1", quoted).decode())
    return out


@dataclass
class FakeImapServer:
    username: str
    password: str
    folder: str = "INBOX"
    mails: list[StoredMail] = field(default_factory=list)
    uid_validity: int = 1
    port: int = 0
    #: every command line received, with LOGIN's password replaced (what a test may print)
    commands: list[str] = field(default_factory=list)
    logins: int = 0
    drop_on_store: bool = False
    _next_uid: int = 1
    _server: asyncio.Server | None = None

    def add(self, raw: bytes) -> int:
        uid = self._next_uid
        self._next_uid += 1
        self.mails.append(StoredMail(uid, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))
        return uid

    def seen(self) -> list[int]:
        return [m.uid for m in self.mails if "\\Seen" in m.flags]

    async def start(self) -> FakeImapServer:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = "not authenticated"
        writer.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ThreadDesk test IMAP4rev1 server ready\r\n")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                line = line.rstrip(b"\r\n")
                parts = line.split(b" ", 2)
                if len(parts) < 2:
                    writer.write(b"* BAD missing tag or command\r\n")
                    continue
                tag = parts[0].decode()
                command = parts[1].decode().upper()
                rest = parts[2] if len(parts) > 2 else b""
                self.commands.append(f"{tag} {command} ***" if command == "LOGIN" else line.decode(errors="replace"))
                if command == "CAPABILITY":
                    writer.write(
                        b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + f"{tag} OK CAPABILITY completed\r\n".encode()
                    )
                elif command == "NOOP":
                    writer.write(f"{tag} OK NOOP completed\r\n".encode())
                elif command == "LOGOUT":
                    writer.write(
                        b"* BYE ThreadDesk test server logging out\r\n" + f"{tag} OK LOGOUT completed\r\n".encode()
                    )
                    await writer.drain()
                    return
                elif command == "LOGIN":
                    args = _tokens(rest)
                    if state != "not authenticated":
                        writer.write(f"{tag} BAD LOGIN only in the not authenticated state\r\n".encode())
                    elif args == [self.username, self.password]:
                        self.logins += 1
                        state = "authenticated"
                        writer.write(f"{tag} OK [CAPABILITY IMAP4rev1] LOGIN completed\r\n".encode())
                    else:
                        writer.write(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n".encode())
                elif state == "not authenticated":
                    writer.write(f"{tag} BAD {command} needs LOGIN first\r\n".encode())
                elif command in ("SELECT", "EXAMINE"):
                    [name] = _tokens(rest) or [""]
                    if name.upper() != self.folder.upper() and name != self.folder:
                        state = "authenticated"
                        writer.write(f"{tag} NO [NONEXISTENT] No such mailbox\r\n".encode())
                        continue
                    state = "selected"
                    unseen = [i for i, m in enumerate(self.mails, 1) if "\\Seen" not in m.flags]
                    lines = [
                        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
                        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Limited",
                        f"* {len(self.mails)} EXISTS",
                        "* 0 RECENT",
                        *([f"* OK [UNSEEN {unseen[0]}] first unseen"] if unseen else []),
                        f"* OK [UIDVALIDITY {self.uid_validity}] UIDs valid",
                        f"* OK [UIDNEXT {self._next_uid}] Predicted next UID",
                        f"{tag} OK [READ-WRITE] SELECT completed",
                    ]
                    writer.write(("\r\n".join(lines) + "\r\n").encode())
                elif state != "selected":
                    writer.write(f"{tag} BAD {command} needs a selected mailbox\r\n".encode())
                elif command == "UID":
                    if not await self._uid(tag, rest, writer):
                        return  # the connection was dropped
                else:
                    writer.write(f"{tag} BAD unknown command {command}\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def _by_uid(self, spec: str) -> list[tuple[int, StoredMail]]:
        wanted: set[int] = set()
        for part in spec.split(","):
            if ":" in part:
                low, high = part.split(":")
                top = self._next_uid if high == "*" else int(high)
                wanted.update(range(int(low), top + 1))
            else:
                wanted.add(int(part))
        return [(i, m) for i, m in enumerate(self.mails, 1) if m.uid in wanted]

    async def _uid(self, tag: str, rest: bytes, writer: asyncio.StreamWriter) -> bool:
        sub, _, args = rest.decode().partition(" ")
        sub = sub.upper()
        if sub == "SEARCH":
            key = args.strip().upper()
            if key == "UNSEEN":
                found = [m.uid for m in self.mails if "\\Seen" not in m.flags]
            elif key == "ALL":
                found = [m.uid for m in self.mails]
            else:
                writer.write(f"{tag} BAD search key not supported here\r\n".encode())
                return True
            writer.write(("* SEARCH" + "".join(f" {u}" for u in found) + "\r\n").encode())
            writer.write(f"{tag} OK UID SEARCH completed\r\n".encode())
        elif sub == "FETCH":
            spec, _, items = args.partition(" ")
            item = items.strip().strip("()").upper()
            if item not in ("RFC822", "BODY[]", "BODY.PEEK[]"):
                writer.write(f"{tag} BAD fetch item not supported here\r\n".encode())
                return True
            name = "RFC822" if item == "RFC822" else "BODY[]"
            for seq, mail in self._by_uid(spec):
                if item != "BODY.PEEK[]":
                    mail.flags.add("\\Seen")  # RFC 3501 6.4.5: BODY[] and RFC822 set \Seen
                writer.write(f"* {seq} FETCH (UID {mail.uid} {name} {{{len(mail.raw)}}}\r\n".encode())
                writer.write(mail.raw + b")\r\n")
            writer.write(f"{tag} OK UID FETCH completed\r\n".encode())
        elif sub == "STORE":
            spec, _, change = args.partition(" ")
            what, _, flags = change.partition(" ")
            if self.drop_on_store:
                self.drop_on_store = False
                writer.close()
                return False
            new = set(flags.strip().strip("()").split())
            for seq, mail in self._by_uid(spec):
                if what.upper().startswith("+FLAGS"):
                    mail.flags |= new
                elif what.upper().startswith("-FLAGS"):
                    mail.flags -= new
                else:
                    mail.flags = new
                if not what.upper().endswith(".SILENT"):
                    shown = " ".join(sorted(mail.flags))
                    writer.write(f"* {seq} FETCH (UID {mail.uid} FLAGS ({shown}))\r\n".encode())
            writer.write(f"{tag} OK UID STORE completed\r\n".encode())
        else:
            writer.write(f"{tag} BAD UID {sub} not supported here\r\n".encode())
        return True
