"""The `[web]` table: the dashboard served by `threaddesk run` next to the chat platforms."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0: every interface)")
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str | None = Field(
        default=None,
        description="the address browsers use, e.g. https://desk.example.com/desk behind a reverse proxy; "
        "unset = http://host:port",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("write the full address without query, e.g. 'https://desk.example.com/desk'")
        return value.rstrip("/")

    @property
    def public_url(self) -> str:
        """Where links point: `base_url`, or this server's own address."""
        if self.base_url:
            return self.base_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def prefix(self) -> str:
        """The path the dashboard lives under ('' at the root): a proxy forwards `/desk/…` unchanged."""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")
