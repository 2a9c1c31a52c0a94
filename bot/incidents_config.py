"""The `[incidents]` table: when similar reports become an incident proposal, and keyword rules.

The thresholds' defaults were fixed on replay streams built from the training splits and checked on the
validation splits (BENCHMARKS.md, "Incident grouping"); that section also says what each one trades.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.sla_config import parse_duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutageRule(_Strict):
    """A ticket whose text matches `match` is an outage report: reports of one rule group together
    whatever their wording, and an incident they form is named `title`."""

    match: str = Field(description="regular expression, case-insensitive, searched in the ticket's text")
    title: str = Field(min_length=1, max_length=120)

    @field_validator("match")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    def matches(self, text: str) -> bool:
        return re.search(self.match, text, re.IGNORECASE) is not None


SEMANTIC_THRESHOLDS = {"min_reports": 4, "similarity": 22.0, "join_similarity": 16.0}
"""The defaults with `semantic` on, fixed on the training streams (BENCHMARKS.md, "Incident grouping"): fused
lifts run on another scale, and with them a fourth report removes most false incidents at little recall."""


class IncidentsConfig(_Strict):
    enabled: bool = Field(default=True, description="detect incidents and join new reports to open ones")
    min_reports: int = Field(default=3, ge=2, le=50, description="similar reports from different customers")
    window: str = Field(default="15m", description="…arriving within this long")
    auto_create: bool = Field(default=False, description="create the incident instead of proposing it")
    similarity: float = Field(default=22, ge=0, le=100, description="report-to-report similarity that groups")
    join_similarity: float = Field(default=12, ge=0, le=100, description="report-to-incident similarity that joins")
    join_window: str = Field(default="15m", description="joins only while the incident's last report is this recent")
    semantic: bool | None = Field(
        default=None, description="fuse MiniLM sentence embeddings into similarity (unset: as `[kb] semantic`)"
    )
    kb_topics: bool = Field(
        default=False,
        description="with `semantic`: reports the knowledge base recognises as the same articles read alike "
        "(for a KB that covers what customers write about; `kb.topics`)",
    )
    rules: tuple[OutageRule, ...] = ()

    @field_validator("window", "join_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    def resolved(self, kb_semantic: bool) -> IncidentsConfig:
        """`semantic` decided (unset: as `[kb] semantic`), and with it on, the thresholds left unset take the
        values tuned for the fused similarity (`SEMANTIC_THRESHOLDS`)."""
        on = self.semantic if self.semantic is not None else kb_semantic
        update: dict[str, object] = {"semantic": on}
        if on:
            update |= {k: v for k, v in SEMANTIC_THRESHOLDS.items() if k not in self.model_fields_set}
        return self.model_copy(update=update)

    @property
    def reads_articles(self) -> bool:
        """Whether detection tells reports' subjects apart by the knowledge base's articles (`kb_topics`, with
        `semantic`; on a `resolved` config)."""
        return self.enabled and self.kb_topics and bool(self.semantic)

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def join_window_delta(self) -> timedelta:
        return parse_duration(self.join_window)

    def rule_for(self, text: str) -> OutageRule | None:
        return next((rule for rule in self.rules if rule.matches(text)), None)
