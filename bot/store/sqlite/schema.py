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
    # 3: team leads — SLA clocks and alerts, per-ticket timers, scheduled jobs, CSAT, indexes for reports
    """
    CREATE TABLE sla_clocks (
        ticket             INTEGER PRIMARY KEY REFERENCES tickets (number),
        used_seconds       REAL NOT NULL DEFAULT 0,
        running_since      TEXT,
        first_response_due TEXT,
        resolution_due     TEXT
    );

    CREATE TABLE timers (
        ticket   INTEGER NOT NULL REFERENCES tickets (number),
        kind     TEXT NOT NULL,
        due_at   TEXT NOT NULL,
        attempt  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (ticket, kind)
    ) WITHOUT ROWID;
    CREATE INDEX ix_timers_due ON timers (due_at);

    CREATE TABLE sla_alerts (
        ticket   INTEGER NOT NULL REFERENCES tickets (number),
        target   TEXT NOT NULL,
        level    TEXT NOT NULL,
        due_at   TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        late     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (ticket, target, level)
    ) WITHOUT ROWID;
    CREATE INDEX ix_sla_alerts_due ON sla_alerts (level, due_at);

    CREATE TABLE jobs (
        name        TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        spec        TEXT NOT NULL DEFAULT '{}',
        due_at      TEXT NOT NULL,
        last_run_at TEXT
    ) WITHOUT ROWID;

    CREATE TABLE csat (
        ticket     INTEGER PRIMARY KEY REFERENCES tickets (number),
        asked_at   TEXT NOT NULL,
        rating     INTEGER CHECK (rating BETWEEN 1 AND 5),
        comment    TEXT,
        rated_at   TEXT
    );
    CREATE INDEX ix_csat_asked ON csat (asked_at);
    CREATE INDEX ix_csat_rated ON csat (rated_at);

    CREATE INDEX ix_tickets_created ON tickets (created_at);
    CREATE INDEX ix_tickets_resolved ON tickets (resolved_at);
    CREATE INDEX ix_tickets_closed ON tickets (closed_at);
    -- small partial indexes over the open queue only, for the digest's "oldest waiting" and "per-agent load"
    CREATE INDEX ix_tickets_waiting ON tickets (created_at, number)
        WHERE first_response_at IS NULL AND status NOT IN ('resolved', 'closed');
    CREATE INDEX ix_tickets_open_load ON tickets (assignee_name)
        WHERE assignee_id IS NOT NULL AND status NOT IN ('resolved', 'closed');
    """,
    # 4: a post's delivery state reaches its message-log entry inside the same statement, so marking a
    #    delivered post is one autocommitted UPDATE instead of a four-round-trip transaction
    """
    CREATE TRIGGER outbox_delivery_logged AFTER UPDATE OF state ON outbox
    WHEN NEW.message IS NOT NULL AND NEW.state IN ('delivered', 'failed') AND OLD.state = 'pending'
    BEGIN
        UPDATE ticket_messages
           SET delivery = NEW.state,
               platform_message_id = CASE WHEN NEW.state = 'delivered' THEN NEW.delivered_id
                                          ELSE platform_message_id END
         WHERE id = NEW.message;
    END;
    """,
    # 5: the web dashboard: one-time sign-in links (from `/dashboard` in chat) and server-side sessions
    """
    CREATE TABLE web_links (
        id            TEXT PRIMARY KEY,
        user_platform TEXT NOT NULL,
        user_id       TEXT NOT NULL,
        user_name     TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        used_at       TEXT
    ) WITHOUT ROWID;

    CREATE TABLE web_sessions (
        token_hash    TEXT PRIMARY KEY,  -- sha256 of the cookie: a copy of the database signs nobody in
        user_platform TEXT NOT NULL,
        user_id       TEXT NOT NULL,
        user_name     TEXT NOT NULL,
        csrf          TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        revoked_at    TEXT,
        user_agent    TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE INDEX ix_web_sessions_user ON web_sessions (user_platform, user_id);
    -- the dashboard queue's orders over the whole table: most urgent then oldest, and recently updated
    CREATE INDEX ix_tickets_urgency ON tickets (
        CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, created_at, number);
    CREATE INDEX ix_tickets_updated ON tickets (updated_at, number);
    """,
    # 6: leases — one holder per role (the SQLite writer; later, PostgreSQL leadership), renewed while alive
    """
    CREATE TABLE leases (
        role    TEXT PRIMARY KEY,
        token   TEXT NOT NULL,
        host    TEXT NOT NULL,
        pid     INTEGER NOT NULL,
        since   TEXT NOT NULL,
        expires TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 7: the dashboard's open queue in its default order, over open tickets only (a page is a short index
    #    range however long the closed history grows); queries say `status NOT IN ('resolved', 'closed')`
    """
    CREATE INDEX ix_tickets_open_urgency ON tickets (
        CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, created_at, number)
        WHERE status NOT IN ('resolved', 'closed');
    """,
    # 8: macros (every version kept) and teams: a ticket's team and suggested macro, agents' availability,
    #    the round-robin pointer per team, and "nobody is available" told once per team
    """
    CREATE TABLE macros (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        owner      TEXT NOT NULL DEFAULT '',  -- '' = shared with the team; 'platform:user-id' = personal
        body       TEXT NOT NULL,
        actions    TEXT NOT NULL DEFAULT '',
        version    INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        UNIQUE (owner, name)
    );

    CREATE TABLE macro_versions (
        owner   TEXT NOT NULL,
        name    TEXT NOT NULL,
        version INTEGER NOT NULL,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        change  TEXT NOT NULL,
        body    TEXT NOT NULL,
        actions TEXT NOT NULL,
        PRIMARY KEY (owner, name, version)
    ) WITHOUT ROWID;

    CREATE INDEX ix_events_macro ON ticket_events (json_extract(detail, '$.macro'))
        WHERE kind = 'macro_applied';

    CREATE TABLE ticket_routing (
        ticket          INTEGER PRIMARY KEY REFERENCES tickets (number),
        team            TEXT,
        suggested_macro TEXT
    );
    CREATE INDEX ix_ticket_routing_team ON ticket_routing (team);

    CREATE TABLE agent_presence (
        platform   TEXT NOT NULL,
        id         TEXT NOT NULL,
        away_since TEXT NOT NULL,
        away_until TEXT,
        PRIMARY KEY (platform, id)
    ) WITHOUT ROWID;

    CREATE TABLE assignment_pointers (
        team        TEXT PRIMARY KEY,
        last_member TEXT NOT NULL,
        at          TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE team_unstaffed (
        team     TEXT PRIMARY KEY,
        since    TEXT NOT NULL,
        ticket   INTEGER
    ) WITHOUT ROWID;
    """,
    # 9: incidents — one outage many tickets report: links, the public update log and internal notes,
    #    wordings agents unlinked (negative examples), and the reports detection groups
    """
    CREATE TABLE incidents (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        platform        TEXT NOT NULL,
        title           TEXT NOT NULL,
        status          TEXT NOT NULL,
        owner_id        TEXT,
        owner_name      TEXT,
        source          TEXT NOT NULL,
        rule            TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        first_report_at TEXT,
        resolved_at     TEXT,
        resolution      TEXT,
        card_channel    TEXT,
        card_message    TEXT
    );
    CREATE INDEX ix_incidents_open ON incidents (platform, status);
    CREATE INDEX ix_incidents_created ON incidents (created_at);
    CREATE INDEX ix_incidents_card ON incidents (card_channel, card_message);

    CREATE TABLE incident_links (
        incident    INTEGER NOT NULL REFERENCES incidents (id),
        ticket      INTEGER NOT NULL REFERENCES tickets (number),
        linked_at   TEXT NOT NULL,
        how         TEXT NOT NULL CHECK (how IN ('agent', 'detected', 'auto')),
        unlinked_at TEXT,
        PRIMARY KEY (incident, ticket)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX ux_incident_links_ticket ON incident_links (ticket) WHERE unlinked_at IS NULL;

    CREATE TABLE incident_updates (
        id              INTEGER PRIMARY KEY,
        incident        INTEGER NOT NULL REFERENCES incidents (id),
        at              TEXT NOT NULL,
        author_platform TEXT NOT NULL,
        author_id       TEXT NOT NULL,
        author_name     TEXT NOT NULL,
        status          TEXT NOT NULL,
        visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
        text            TEXT NOT NULL
    );
    CREATE INDEX ix_incident_updates ON incident_updates (incident, id);

    CREATE TABLE incident_negatives (
        incident INTEGER NOT NULL REFERENCES incidents (id),
        ticket   INTEGER NOT NULL REFERENCES tickets (number),
        text     TEXT NOT NULL,
        at       TEXT NOT NULL,
        PRIMARY KEY (incident, ticket)
    ) WITHOUT ROWID;

    CREATE TABLE incident_reports (
        ticket   INTEGER PRIMARY KEY REFERENCES tickets (number),
        platform TEXT NOT NULL,
        customer TEXT NOT NULL,
        at       TEXT NOT NULL,
        text     TEXT NOT NULL,
        rule     TEXT,
        state    TEXT NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'proposed', 'dismissed', 'linked'))
    );
    CREATE INDEX ix_incident_reports_recent ON incident_reports (platform, at);
    """,
    # 10: detection reads the latest free (or proposed) reports: newest first, stopping at its limit
    """
    CREATE INDEX ix_incident_reports_state ON incident_reports (platform, state, at);
    """,
    # 11: the durable inbox — a chat message is stored here before the platform is told it arrived, and
    # leaves in the transaction that handles it (`inbound` keeps the ids of every message handled)
    """
    CREATE TABLE inbox (
        id          INTEGER PRIMARY KEY,
        platform    TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        payload     TEXT NOT NULL,
        received_at TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (platform, message_id)
    );
    -- a post handed to the platform whose answer is not recorded yet: after a crash, its outcome is unknown
    ALTER TABLE outbox ADD COLUMN sending_since TEXT;
    """,
    # 12: `customer forget` finds a person's messages by author: without this it scanned every message
    # inside the erasure's transaction (~2 s at 100,000 tickets, intake waiting)
    """
    CREATE INDEX ix_messages_author ON ticket_messages (author_platform, author_id);
    """,
    # 13: the queue's order as a column: `priority_rank` (0 urgent, 1 high, 2 normal, 3 low), computed by SQLite
    #     from `priority` (VIRTUAL: nothing stored, nothing to keep in step). Its indexes replace the CASE
    #     expression indexes of 5 and 7: a query orders by the column instead of repeating the CASE text the
    #     planner had to match. The open-queue index also holds `status`, so counts over open tickets (the
    #     report's SLA figures) read it alone instead of the whole table. The outbox's pending rows in id
    #     order (`state` leads so the planner, without statistics, prefers it to ix_outbox_pending): the due
    #     query reads the oldest first and stops at its limit.
    """
    ALTER TABLE tickets ADD COLUMN priority_rank INTEGER GENERATED ALWAYS AS (
        CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END) VIRTUAL;
    DROP INDEX ix_tickets_urgency;
    DROP INDEX ix_tickets_open_urgency;
    CREATE INDEX ix_tickets_rank ON tickets (priority_rank, created_at, number);
    CREATE INDEX ix_tickets_open_rank ON tickets (priority_rank, created_at, number, status)
        WHERE status NOT IN ('resolved', 'closed');
    CREATE INDEX ix_outbox_due ON outbox (state, id) WHERE state = 'pending';
    """,
    # 14: catch-up after downtime — per conversation, the platform position (Discord message id, Slack ts) up
    # to which every message there was taken in; what was written later is read back at start
    """
    CREATE TABLE read_marks (
        platform TEXT NOT NULL,
        channel  TEXT NOT NULL,
        position TEXT NOT NULL,
        at       TEXT NOT NULL,
        PRIMARY KEY (platform, channel)
    );
    """,
    # 15: the assignee's platform — an e-mail ticket is assigned to an agent on the chat its card is in, not on
    # the customer's platform. NULL (tickets assigned before 15, unassigned ones): the customer's platform.
    """
    ALTER TABLE tickets ADD COLUMN assignee_platform TEXT;
    """,
    # 16: the dashboard's search and tag filter read indexes instead of every ticket.
    #     `tickets_fts`: an FTS5 index of subject, description and customer name with the trigram tokenizer
    #     (SQLite >= 3.34), so a substring of 3 characters or more is a lookup. External content: the text
    #     stays in `tickets` only; the triggers keep the index in step with every insert, change of those
    #     columns (the erasure and the retention purge rewrite them; saving a ticket rewrites them unchanged,
    #     which the triggers skip) and delete. `ticket_tags`: one row per
    #     ticket and tag, kept by triggers from `tickets.tags` (the JSON list stays the truth). Both are built
    #     from the existing tickets here.
    """
    CREATE VIRTUAL TABLE tickets_fts USING fts5(
        subject, description, customer_name, content='tickets', content_rowid='number', tokenize='trigram');
    CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
        INSERT INTO tickets_fts (rowid, subject, description, customer_name)
            VALUES (new.number, new.subject, new.description, new.customer_name);
    END;
    CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, description, customer_name ON tickets
    WHEN old.subject IS NOT new.subject OR old.description IS NOT new.description
        OR old.customer_name IS NOT new.customer_name BEGIN
        INSERT INTO tickets_fts (tickets_fts, rowid, subject, description, customer_name)
            VALUES ('delete', old.number, old.subject, old.description, old.customer_name);
        INSERT INTO tickets_fts (rowid, subject, description, customer_name)
            VALUES (new.number, new.subject, new.description, new.customer_name);
    END;
    CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
        INSERT INTO tickets_fts (tickets_fts, rowid, subject, description, customer_name)
            VALUES ('delete', old.number, old.subject, old.description, old.customer_name);
    END;
    INSERT INTO tickets_fts (tickets_fts) VALUES ('rebuild');

    CREATE TABLE ticket_tags (
        tag    TEXT NOT NULL,
        ticket INTEGER NOT NULL,
        PRIMARY KEY (tag, ticket)
    ) WITHOUT ROWID;
    CREATE TRIGGER ticket_tags_insert AFTER INSERT ON tickets BEGIN
        INSERT OR IGNORE INTO ticket_tags (tag, ticket) SELECT value, new.number FROM json_each(new.tags);
    END;
    CREATE TRIGGER ticket_tags_update AFTER UPDATE OF tags ON tickets WHEN old.tags IS NOT new.tags BEGIN
        DELETE FROM ticket_tags WHERE ticket = old.number AND tag IN (SELECT value FROM json_each(old.tags));
        INSERT OR IGNORE INTO ticket_tags (tag, ticket) SELECT value, new.number FROM json_each(new.tags);
    END;
    CREATE TRIGGER ticket_tags_delete AFTER DELETE ON tickets BEGIN
        DELETE FROM ticket_tags WHERE ticket = old.number AND tag IN (SELECT value FROM json_each(old.tags));
    END;
    INSERT OR IGNORE INTO ticket_tags (tag, ticket) SELECT j.value, t.number FROM tickets t, json_each(t.tags) j;
    """,
    # 17: the posts delivered lately on a platform (`delivered_ids`, read when a post's outcome is unknown) come
    #     off an index of the delivered rows instead of every row the outbox ever held
    """
    CREATE INDEX ix_outbox_delivered ON outbox (platform, delivered_at) WHERE state = 'delivered';
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
