"""Who may do what. Roles are ordered: each one can do everything the one before it can."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank

    @property
    def plural(self) -> str:
        return {"customer": "customers", "agent": "agents", "lead": "team leads", "admin": "admins"}[self]

    @property
    def with_article(self) -> str:
        """“a customer”, “an agent”, “a lead”, “an admin”."""
        return ("an " if self.value[0] in "aeiou" else "a ") + self.value
