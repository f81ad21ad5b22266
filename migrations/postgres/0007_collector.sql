-- What the streaming metrics collector writes from SDK reports and heartbeats. Rows name
-- queues and applications by id without foreign keys: they are written at fleet rate and
-- pruned by age, and a deleted queue's history simply ages out.

-- Every report as received (kept for the raw retention, 7 days by default).
CREATE TABLE sdk_reports (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    queue_id BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    seq BIGINT,
    role TEXT NOT NULL,
    host TEXT NOT NULL,
    ip TEXT NOT NULL,
    consumer_group TEXT,
    messages BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    lag BIGINT,
    -- A consumer's offsets as JSON: [{"partition", "offset", "lag"}].
    offsets TEXT
);
CREATE INDEX sdk_reports_at ON sdk_reports (at);
CREATE INDEX sdk_reports_queue_at ON sdk_reports (queue_id, at);
CREATE INDEX sdk_reports_client ON sdk_reports (client_id, seq);

-- Messages and bytes per (queue, application, role) and minute (30 days) or hour (1 year).
CREATE TABLE traffic_minutes (
    queue_id BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    PRIMARY KEY (queue_id, application_id, role, bucket)
);
CREATE INDEX traffic_minutes_bucket ON traffic_minutes (bucket);
CREATE TABLE traffic_hours (
    queue_id BIGINT NOT NULL,
    application_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    reports BIGINT NOT NULL,
    PRIMARY KEY (queue_id, application_id, role, bucket)
);
CREATE INDEX traffic_hours_bucket ON traffic_hours (bucket);

-- Each consumer instance's latest total lag per minute; a group's lag is the sum.
CREATE TABLE lag_minutes (
    queue_id BIGINT NOT NULL,
    consumer_group TEXT NOT NULL,
    client_id TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    lag BIGINT NOT NULL,
    PRIMARY KEY (queue_id, consumer_group, client_id, bucket)
);
CREATE INDEX lag_minutes_bucket ON lag_minutes (bucket);

-- Every client instance by queue and role, with when it was last heard from.
CREATE TABLE sdk_clients (
    client_id TEXT NOT NULL,
    queue_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    application_id BIGINT NOT NULL,
    host TEXT NOT NULL,
    ip TEXT NOT NULL,
    consumer_group TEXT,
    sdk_version TEXT NOT NULL,
    config_version TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (client_id, queue_id, role)
);
CREATE INDEX sdk_clients_queue ON sdk_clients (queue_id, last_seen);
