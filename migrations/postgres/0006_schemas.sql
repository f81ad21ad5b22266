-- Immutable schema versions per queue, and each queue's compatibility mode.
CREATE TABLE schema_versions (
    id BIGSERIAL PRIMARY KEY,
    queue_id BIGINT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    format TEXT NOT NULL,
    definition TEXT NOT NULL,
    -- Equal for schemas that mean the same, so registering one twice is one version.
    fingerprint TEXT NOT NULL,
    author TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (queue_id, version)
);

-- Absent means the default, BACKWARD.
CREATE TABLE schema_settings (
    queue_id BIGINT PRIMARY KEY REFERENCES queues(id) ON DELETE CASCADE,
    compatibility TEXT NOT NULL
);
