-- Lineage edges: who writes and reads which queue, kept for good (reports and rollups
-- age out; this is their lasting summary). Like the collector's tables, no foreign keys:
-- an edge never makes a batch of reports fail; readers join to what still exists.

-- From SDK reports: an application producing to (role 'producer') or consuming from
-- (role 'consumer', per consumer group) a queue.
CREATE TABLE lineage_edges (
    application_id BIGINT NOT NULL,
    queue_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    consumer_group TEXT NOT NULL DEFAULT '',
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (application_id, queue_id, role, consumer_group)
);
CREATE INDEX lineage_edges_last_seen ON lineage_edges (last_seen);

-- From OpenLineage run events: a job reading ('consumer') or writing ('producer') a queue.
CREATE TABLE lineage_job_edges (
    job_namespace TEXT NOT NULL,
    job_name TEXT NOT NULL,
    queue_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    runs BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_namespace, job_name, queue_id, role)
);
CREATE INDEX lineage_job_edges_last_seen ON lineage_job_edges (last_seen);

-- What the collector already holds becomes the first edges.
INSERT INTO lineage_edges (application_id, queue_id, role, consumer_group, first_seen, last_seen, messages, bytes)
SELECT r.application_id, r.queue_id, r.role, COALESCE(r.consumer_group, ''), MIN(r.at), MAX(r.at), SUM(r.messages), SUM(r.bytes)
FROM sdk_reports r
JOIN applications a ON a.id = r.application_id
JOIN queues q ON q.id = r.queue_id
GROUP BY r.application_id, r.queue_id, r.role, COALESCE(r.consumer_group, '');
