"""Platform-neutral outbound messages. Adapters render these as Block Kit, Discord embeds or console text."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.domain.refs import UserRef


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


class Button(BaseModel):
    """A button runs a command in the same language people type, as the person who pressed it.

    With `prompt`, the platform first asks for text (a modal on Slack/Discord, the next line on the
    console) and appends it to `command` — e.g. Reply, Resolve.
    """

    model_config = ConfigDict(frozen=True)

    label: str
    command: str
    style: ButtonStyle = ButtonStyle.DEFAULT
    prompt: str | None = None


class Choice(BaseModel):
    """A menu (Slack static select, Discord select): each option is a command, like a button."""

    model_config = ConfigDict(frozen=True)

    placeholder: str
    options: tuple[Button, ...]


def all_menus(message: Message) -> tuple[Choice, ...]:
    """`choice` and `menus`, in order, leaving out empty ones."""
    found = ((message.choice,) if message.choice else ()) + message.menus
    return tuple(c for c in found if c.options)


class Link(BaseModel):
    """A web link under the text (the assignee's note links to the ticket's card). A DIRECT post about a
    ticket that carries a link without `url` gets the card's address when it is delivered (the card may not
    be posted yet when the note is queued); a link still without one is left out."""

    model_config = ConfigDict(frozen=True)

    label: str
    url: str | None = None


class Field(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: str


class Message(BaseModel):
    """What the bot says. `text` always carries the whole meaning (notifications, screen readers)."""

    model_config = ConfigDict(frozen=True)

    text: str
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    choice: Choice | None = None
    #: Further menus after `choice` (the queue card's Macro… menu).
    menus: tuple[Choice, ...] = ()
    footer: str | None = None
    #: People to notify (rendered as real mentions by each platform; `text` already names them).
    mentions: tuple[UserRef, ...] = ()
    #: A file to attach (a chart PNG) where the platform allows; the console prints its path.
    attachment: str | None = None
    #: `text` is Markdown (it carries a KB article): each platform converts it to its own flavour.
    markdown: bool = False
    link: Link | None = None
    #: For a DIRECT post: what stands in for it when the platform refuses it for good (see `Fallback`).
    if_refused: Fallback | None = None


class DestinationKind(StrEnum):
    CUSTOMER = "customer"  # the ticket's customer thread, looked up when the post is delivered
    CARD = "card"  # the ticket's queue card: posted once, then edited in place
    CARD_THREAD = "card_thread"  # the thread under the ticket's queue card (internal discussion)
    CHANNEL = "channel"  # a top-level post (leads channel)
    THREAD = "thread"  # a reply in a thread that belongs to no ticket (e.g. a refusal at intake)
    INCIDENT_CARD = "incident_card"  # an incident's card in the queue channel: posted once, then edited
    DIRECT = "direct"  # to one person (`channel` is their user id), in the bot's direct conversation with them


class Destination(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: DestinationKind
    platform: str
    channel: str = ""
    thread: str | None = None
    ticket: int | None = None
    incident: int | None = None

    @property
    def ordering_key(self) -> str:
        """Posts with the same key are delivered strictly in order; different keys go in parallel."""
        if self.kind is DestinationKind.CUSTOMER:
            return f"customer:{self.platform}:{self.ticket}"
        if self.kind in (DestinationKind.CARD, DestinationKind.CARD_THREAD) or (
            self.kind is DestinationKind.DIRECT and self.ticket is not None
        ):
            return f"card:{self.platform}:{self.ticket}"  # a note about a ticket goes after its card: it links it
        if self.kind is DestinationKind.INCIDENT_CARD:
            return f"incident:{self.platform}:{self.incident}"
        return f"{self.platform}:{self.channel}:{self.thread or ''}"

    @classmethod
    def customer(cls, platform: str, ticket: int) -> Destination:
        return cls(kind=DestinationKind.CUSTOMER, platform=platform, ticket=ticket)

    @classmethod
    def card(cls, platform: str, channel: str, ticket: int) -> Destination:
        return cls(kind=DestinationKind.CARD, platform=platform, channel=channel, ticket=ticket)

    @classmethod
    def incident_card(cls, platform: str, channel: str, incident: int) -> Destination:
        return cls(kind=DestinationKind.INCIDENT_CARD, platform=platform, channel=channel, incident=incident)

    @classmethod
    def direct(cls, platform: str, user_id: str, ticket: int | None = None) -> Destination:
        return cls(kind=DestinationKind.DIRECT, platform=platform, channel=user_id, ticket=ticket)

    @classmethod
    def card_thread(cls, platform: str, channel: str, ticket: int) -> Destination:
        return cls(kind=DestinationKind.CARD_THREAD, platform=platform, channel=channel, ticket=ticket)


class Fallback(BaseModel):
    """What stands in for a direct message the platform refuses for good (the person accepts no DMs, their
    account is gone): `message`, its text followed by ": " and the refusal in plain words, posted to
    `destination` (the ticket's card thread). The delivery worker queues it in the transaction that marks the
    refused post failed, so it is posted once — whatever restarts or second attempts came before."""

    model_config = ConfigDict(frozen=True)

    destination: Destination
    message: Message


Message.model_rebuild()
