"""Schema migrations, applied in order and tracked with `PRAGMA user_version`."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: tickets, their history and message log, idempotent intake, the outbox
    """
    CREATE TABLE tickets (
        number             INTEGER PRIMARY KEY AUTOINCREMENT,
        subject            TEXT NOT NULL,
        description        TEXT NOT NULL,
        customer_platform  TEXT NOT NULL,
        customer_id        TEXT NOT NULL,
        customer_name      TEXT NOT NULL,
        origin_channel     TEXT NOT NULL,
        origin_thread      TEXT,  -- NULL until the first post of a ticket opened by slash command
        priority           TEXT NOT NULL,
        category           TEXT NOT NULL,
        tags               TEXT NOT NULL DEFAULT '[]',
        status             TEXT NOT NULL,
        assignee_id        TEXT,
        assignee_name      TEXT,
        created_at         TEXT NOT NULL,
        updated_at         TEXT NOT NULL,
        first_response_at  TEXT,
        resolved_at        TEXT,
        closed_at          TEXT,
        resolution_summary TEXT,
        resolved_by_kb     TEXT,
        card_channel       TEXT,
        card_message       TEXT,
        UNIQUE (customer_platform, origin_channel, origin_thread)
    );
    CREATE INDEX ix_tickets_queue ON tickets (status, priority, created_at);
    CREATE INDEX ix_tickets_assignee ON tickets (assignee_id, status);
    CREATE INDEX ix_tickets_customer ON tickets (customer_platform, customer_id, status);
    CREATE INDEX ix_tickets_card ON tickets (card_channel, card_message);

    CREATE TABLE ticket_events (
        id             INTEGER PRIMARY KEY,
        ticket         INTEGER NOT NULL REFERENCES tickets (number),
        at             TEXT NOT NULL,
        actor_platform TEXT NOT NULL,
        actor_id       TEXT NOT NULL,
        actor_name     TEXT NOT NULL,
        kind           TEXT NOT NULL,
        detail         TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX ix_events_ticket ON ticket_events (ticket, id);
    CREATE INDEX ix_events_kind_at ON ticket_events (kind, at);

    CREATE TABLE ticket_messages (
        id                  INTEGER PRIMARY KEY,
        ticket              INTEGER NOT NULL REFERENCES tickets (number),
        at                  TEXT NOT NULL,
        author_platform     TEXT NOT NULL,
        author_id           TEXT NOT NULL,
        author_name         TEXT NOT NULL,
        author_role         TEXT NOT NULL CHECK (author_role IN ('customer', 'agent', 'bot')),
        visibility          TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        body                TEXT NOT NULL,
        platform_message_id TEXT,
        delivery            TEXT NOT NULL CHECK (delivery IN ('received', 'queued', 'delivered', 'failed'))
    );
    CREATE INDEX ix_messages_ticket ON ticket_messages (ticket, id);

    CREATE TABLE inbound (
        platform    TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (platform, message_id)
    ) WITHOUT ROWID;

    CREATE TABLE people (
        platform  TEXT NOT NULL,
        id        TEXT NOT NULL,
        name      TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (platform, id)
    ) WITHOUT ROWID;

    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        ordering_key    TEXT NOT NULL,
        platform        TEXT NOT NULL,
        destination     TEXT NOT NULL,
        payload         TEXT NOT NULL,
        ticket          INTEGER REFERENCES tickets (number),
        message         INTEGER REFERENCES ticket_messages (id),
        state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        version         INTEGER NOT NULL DEFAULT 0,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        delivered_at    TEXT,
        delivered_id    TEXT
    );
    CREATE INDEX ix_outbox_pending ON outbox (state, ordering_key, id);
    """,
    # 2: the knowledge base: articles (current version), every version, learned aliases, feedback
    """
    CREATE TABLE kb_articles (
        id         TEXT PRIMARY KEY,
        title      TEXT NOT NULL,
        aliases    TEXT NOT NULL DEFAULT '[]',
        tags       TEXT NOT NULL DEFAULT '[]',
        category   TEXT,
        body       TEXT NOT NULL DEFAULT '',
        version    INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL
    );

    CREATE TABLE kb_versions (
        article  TEXT NOT NULL,
        version  INTEGER NOT NULL,
        at       TEXT NOT NULL,
        actor    TEXT NOT NULL,
        change   TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        PRIMARY KEY (article, version)
    ) WITHOUT ROWID;

    CREATE TABLE kb_learned (
        id         INTEGER PRIMARY KEY,
        article    TEXT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
        text       TEXT NOT NULL,
        normalised TEXT NOT NULL,
        ticket     INTEGER REFERENCES tickets (number),
        source     TEXT NOT NULL,
        at         TEXT NOT NULL,
        UNIQUE (article, normalised)
    );

    CREATE TABLE kb_feedback (
        id      INTEGER PRIMARY KEY,
        article TEXT NOT NULL,
        ticket  INTEGER REFERENCES tickets (number),
        kind    TEXT NOT NULL CHECK (kind IN ('suggested', 'accepted', 'rejected', 'cited')),
        at      TEXT NOT NULL
    );
    CREATE INDEX ix_kb_feedback_article ON kb_feedback (article, kind);
    CREATE INDEX ix_kb_feedback_ticket ON kb_feedback (ticket, kind);

    CREATE TABLE kb_revision (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        value INTEGER NOT NULL
    );
    INSERT INTO kb_revision (id, value) VALUES (1, 0);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
