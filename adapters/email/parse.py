"""Inbound mail → what the desk needs (pure): who, subject, the new text, attachments, loop signals.

The text is the plain part (or the HTML part converted to text), with quoted replies and signatures cut
off, so a ticket shows what the customer just wrote and not the whole thread again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

TAG = re.compile(r"\[#(\d+)\]")
MSGID = re.compile(r"<[^<>\s]+>")
#: "On Tue, 3 Nov 2026 at 09:12, Support <support@example.com> wrote:" and friends, in a few languages
_QUOTE_INTRO = re.compile(
    r"^(on\b.{0,200}\bwrote:?|le\b.{0,200}\ba écrit\s*:?|am\b.{0,200}\bschrieb.{0,80}:?|el\b.{0,200}\bescribió:?)\s*$",
    re.IGNORECASE,
)
_CUT_LINES = re.compile(
    r"^(-{2,}\s*original message\s*-{2,}|_{5,}|-{5,}|from:\s.+|sent from my \w+.*|get outlook for \w+.*)$",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response)|out of (the )?office|abwesenheitsnotiz|réponse automatique|"
    r"undeliver(able|ed)|delivery status notification|mail delivery (failed|failure)|returned mail)\b",
    re.IGNORECASE,
)
_ROBOT_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)


@dataclass(frozen=True)
class Attachment:
    name: str
    size: int

    @property
    def label(self) -> str:
        size = self.size
        human = (
            f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB" if size < 1024**2 else f"{size / 1024**2:.1f} MB"
        )
        return f"{self.name} ({human})"


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str  # lower-case address
    sender_name: str
    subject: str
    text: str  # the new text: quotes and signature removed
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    authentication: str | None = None  # the Authentication-Results header, when a relay added one
    html_only: bool = False
    loop_reason: str | None = None  # why this must not open a ticket (auto-reply, bounce, …)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def tagged_ticket(self) -> int | None:
        found = TAG.search(self.subject)
        return int(found.group(1)) if found else None

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every message id this mail answers, nearest first."""
        return (*self.in_reply_to, *reversed(self.references))


def parse(raw: bytes) -> Mail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    name, address = parseaddr(str(msg.get("From", "")))
    subject = " ".join(str(msg.get("Subject", "")).split())
    plain, html, attachments = _parts(msg)
    text = plain if plain is not None else html_to_text(html) if html is not None else ""
    message_id = _ids(str(msg.get("Message-ID", "")))
    auth = msg.get_all("Authentication-Results") or []
    mail = Mail(
        message_id=message_id[0] if message_id else _synthetic_id(raw),
        sender=address.lower(),
        sender_name=name.strip() or address.split("@")[0],
        subject=subject,
        text=strip_reply(text),
        in_reply_to=_ids(str(msg.get("In-Reply-To", ""))),
        references=_ids(str(msg.get("References", ""))),
        recipients=tuple(
            a.lower() for _, a in getaddresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])])
        ),
        attachments=tuple(attachments),
        authentication="; ".join(" ".join(str(a).split()) for a in auth) or None,
        html_only=plain is None and html is not None,
        headers={k.lower(): str(v) for k, v in msg.items()},
    )
    return _with_loop_reason(mail, msg)


def _ids(value: str) -> tuple[str, ...]:
    return tuple(MSGID.findall(value))


def _synthetic_id(raw: bytes) -> str:
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@threaddesk.invalid>"


def _parts(msg: EmailMessage) -> tuple[str | None, str | None, list[Attachment]]:
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        ctype = part.get_content_type()
        if (
            disposition == "attachment"
            or (filename and disposition != "inline")
            or (filename and not ctype.startswith("text/"))
        ):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(Attachment(filename or "attachment", size))
            continue
        if ctype == "text/plain" and plain is None:
            plain = _text_of(part)
        elif ctype == "text/html" and html is None:
            html = _text_of(part)
    return plain, html, attachments


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return str(content)


def strip_reply(text: str) -> str:
    """Keep what the sender wrote now: stop at the quoted message, its intro line or the signature."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        bare = line.strip()
        if line.rstrip() == "--" or line == "-- ":
            break  # the signature delimiter (RFC 3676)
        if _QUOTE_INTRO.match(bare) or _CUT_LINES.match(bare):
            break
        if bare.startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"})
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "blockquote":
            self._quote += 1
        if tag == "li":
            self.out.append("\n• ")
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        elif tag == "blockquote" and self._quote:
            self._quote -= 1
        if tag in self.BLOCKS and tag != "li":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = re.sub(r"\s+", " ", data)
        if self._quote:  # quoted mail in HTML is a <blockquote>: mark it so strip_reply drops it
            self.out.append("\n> " + text.strip() + "\n" if text.strip() else "")
        else:
            self.out.append(text)


def html_to_text(html: str) -> str:
    """HTML-only mail as readable text: blocks become lines, lists bullets; scripts and styles dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _with_loop_reason(mail: Mail, msg: EmailMessage) -> Mail:
    reason = loop_reason(mail, msg)
    if reason is None:
        return mail
    return Mail(**{**mail.__dict__, "loop_reason": reason})


def loop_reason(mail: Mail, msg: EmailMessage) -> str | None:
    """Why a mail is machine-made and must not open a ticket (RFC 3834 and what real mailers send)."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if msg.get(header) is not None:
            return f"{header} header"
    if str(msg.get("X-Auto-Response-Suppress", "")).strip().lower() in ("all", "oof", "autoreply"):
        return "X-Auto-Response-Suppress (a machine-sent mail)"
    if msg.get_content_type() == "multipart/report" or str(msg.get("Return-Path", "")).strip() == "<>":
        return "a delivery report (bounce)"
    if not mail.sender or _ROBOT_SENDERS.match(mail.sender):
        return f"sent by {mail.sender or 'nobody'}"
    if _AUTO_SUBJECT.match(mail.subject):
        return f"an automatic reply ({mail.subject[:60]})"
    return None


def format_address(name: str, address: str) -> str:
    username, _, domain = address.partition("@")
    return str(Address(display_name=name, username=username, domain=domain))
