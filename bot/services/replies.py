"""The answer a command gives the person who ran it (ephemeral where the platform allows)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bot.outbound import Message


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True)

    message: Message
    ok: bool = True
    ticket: int | None = None

    @property
    def text(self) -> str:
        return self.message.text

    @classmethod
    def done(cls, text: str, ticket: int | None = None) -> Reply:
        return cls(message=Message(text=text), ticket=ticket)

    @classmethod
    def error(cls, text: str) -> Reply:
        return cls(message=Message(text=text), ok=False)
