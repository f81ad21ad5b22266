-- A project's own applications read and write its queues without an access request, unless
-- its owners switch that off (1 on, 0 off).
ALTER TABLE projects ADD COLUMN own_apps_access BIGINT NOT NULL DEFAULT 1;
