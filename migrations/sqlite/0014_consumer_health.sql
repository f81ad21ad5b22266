-- Consumer health: lag in time beside message lag, alert rules set by owners, the alerts they
-- raised (firing → resolved) and silences; and where alert e-mails reach a user.

-- How old the oldest unread message was at the minute's last poll (NULL where not known).
ALTER TABLE broker_group_offsets ADD COLUMN lag_seconds BIGINT;

ALTER TABLE users ADD COLUMN email TEXT;

-- One rule per kind per queue or application; a queue without one of a kind has its default.
CREATE TABLE alert_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- queue or application
    scope TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    threshold BIGINT,
    for_seconds BIGINT NOT NULL,
    muted BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (scope, target_id, kind)
);

-- An alert lives from firing to resolved; one row per episode, never edited but to resolve or
-- acknowledge it.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id BIGINT NOT NULL REFERENCES queues (id),
    -- empty for alerts about the queue as a whole
    consumer_group TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    fired_at BIGINT NOT NULL,
    resolved_at BIGINT,
    silenced BIGINT NOT NULL,
    ack_by TEXT,
    ack_comment TEXT,
    ack_until BIGINT
);
CREATE INDEX alerts_queue ON alerts (queue_id, fired_at);
CREATE INDEX alerts_open ON alerts (resolved_at);
-- One open alert per subject, whichever replica judges it first.
CREATE UNIQUE INDEX alerts_one_open ON alerts (queue_id, consumer_group, kind)
    WHERE resolved_at IS NULL;

CREATE TABLE alert_silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id BIGINT NOT NULL REFERENCES queues (id),
    consumer_group TEXT,
    kind TEXT,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL
);
CREATE INDEX alert_silences_queue ON alert_silences (queue_id, ends_at);
