"""The operator's tables: `[ops]` (health and metrics endpoint, log format, shutdown) and `[retention]`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OpsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=False, description="serve /healthz, /readyz and /metrics on host:port")
    host: str = Field(default="127.0.0.1", description="loopback unless you mean to expose it")
    port: int = Field(default=9180, ge=0, le=65535)
    log_format: Literal["text", "json"] = "text"
    drain_seconds: float = Field(default=10.0, ge=0, le=600, description="on SIGTERM: time to flush the outbox")
    max_outbox_lag_seconds: float = Field(
        default=300.0, gt=0, description="/readyz fails when the oldest undelivered post is older than this"
    )
    max_inbox_lag_seconds: float = Field(
        default=60.0, gt=0, description="/readyz fails when a message or command has been in handling this long"
    )


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message_days: int | None = Field(
        default=None, ge=1, description="erase message texts of tickets closed more than N days ago; unset = keep"
    )
