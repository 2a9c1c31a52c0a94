"""`[transcripts]`: a record of every ticket at close, for the archive channel and (optionally) the customer."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class TranscriptsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=False, description="write a transcript when a ticket closes")
    to_customer: bool = Field(default=False, description="also send the customer their copy (public messages)")
    dir: Path | None = Field(default=None, description="folder for the files; default: transcripts/ by the database")
