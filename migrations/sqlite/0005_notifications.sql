-- Console notifications, a webhook per project, and the outbox its deliveries are sent from.
ALTER TABLE projects ADD COLUMN webhook_url TEXT;
ALTER TABLE projects ADD COLUMN webhook_secret_enc TEXT;

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    message TEXT NOT NULL,
    link TEXT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_by_user ON notifications (username, id);

-- Written in the same transaction as the event it reports; sent, and retried, from here.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    -- When the next attempt is due; NULL once delivered or given up.
    next_attempt_at BIGINT,
    delivered_at BIGINT,
    last_status BIGINT,
    last_error TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);
CREATE INDEX webhook_deliveries_by_project ON webhook_deliveries (project_id, id);
