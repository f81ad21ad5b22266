-- Fields a queue's owners marked sensitive on its schema page (dotted paths), beside those the
-- schema itself marks; peeks mask them for everyone but the owners.
CREATE TABLE sensitive_fields (
    queue_id BIGINT NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    PRIMARY KEY (queue_id, path)
);
