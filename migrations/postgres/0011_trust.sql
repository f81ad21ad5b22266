-- Trust: what the security review asked for.

-- Two credential sets per cluster: the admin one (probes, provisioning; never leaves the
-- server) and the client one handed to SDKs. Admin-set quotas checked when queues are made.
ALTER TABLE clusters ADD COLUMN client_sasl_username TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN client_sasl_password_enc TEXT;
ALTER TABLE clusters ADD COLUMN max_partitions BIGINT;
ALTER TABLE clusters ADD COLUMN max_retention_hours BIGINT;

-- Disabled users keep their history but cannot sign in; their sessions and tokens end.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- Personal tokens expire and record when they were last used.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
-- Tokens made before expiry existed get the default 90 days from their creation.
UPDATE api_tokens SET expires_at = created_at + 7776000000 WHERE expires_at IS NULL;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- A physical topic backs at most one queue per cluster: looked up by topic name.
CREATE INDEX queues_by_topic ON queues (topic);
