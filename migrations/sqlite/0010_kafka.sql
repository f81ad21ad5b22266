-- The topic behind each queue on each of its clusters, as Watershed last found or made it.
CREATE TABLE topic_provisions (
    queue_id BIGINT NOT NULL REFERENCES queues (id),
    cluster_id BIGINT NOT NULL REFERENCES clusters (id),
    topic TEXT NOT NULL,
    -- created, existed or failed
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (queue_id, cluster_id)
);
CREATE INDEX topic_provisions_status ON topic_provisions (status);

-- What the collector reads off the brokers, whether or not the clients use the SDK: per queue,
-- cluster and minute, the sum of the partitions' end offsets (messages written so far) at the
-- minute's first and last poll ...
CREATE TABLE broker_offsets (
    queue_id BIGINT NOT NULL,
    cluster_id BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    first_offset BIGINT NOT NULL,
    end_offset BIGINT NOT NULL,
    PRIMARY KEY (queue_id, cluster_id, bucket)
);
CREATE INDEX broker_offsets_bucket ON broker_offsets (bucket);

-- ... and each consumer group's committed offsets (summed over partitions, at the first and
-- last poll) and lag.
CREATE TABLE broker_group_offsets (
    queue_id BIGINT NOT NULL,
    cluster_id BIGINT NOT NULL,
    consumer_group TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    first_committed BIGINT NOT NULL,
    committed BIGINT NOT NULL,
    lag BIGINT NOT NULL,
    PRIMARY KEY (queue_id, cluster_id, consumer_group, bucket)
);
CREATE INDEX broker_group_offsets_bucket ON broker_group_offsets (bucket);
