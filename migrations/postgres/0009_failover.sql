-- Every change of the cluster a queue's clients use: failover to the backup, failback to the
-- primary, or a migration of the active side to another cluster. Written in the switch's own
-- transaction, beside its audit entry.
CREATE TABLE queue_switches (
    id BIGSERIAL PRIMARY KEY,
    queue_id BIGINT NOT NULL REFERENCES queues (id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    -- failover, failback or migration
    kind TEXT NOT NULL,
    from_side TEXT NOT NULL,
    to_side TEXT NOT NULL,
    from_cluster TEXT NOT NULL,
    to_cluster TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX queue_switches_queue ON queue_switches (queue_id, at);
