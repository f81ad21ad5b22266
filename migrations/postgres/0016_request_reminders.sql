-- When an open request last reminded its approvers (at most once a day while it waits).
ALTER TABLE access_requests ADD COLUMN reminded_at BIGINT;
