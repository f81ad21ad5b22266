-- The change feed every console process follows to keep its search index current.
CREATE TABLE queue_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id BIGINT NOT NULL,
    at BIGINT NOT NULL
);
