-- When the expiry job marked a grant expired, and when owners were reminded of its expiry.
ALTER TABLE grants ADD COLUMN expired_at BIGINT;
ALTER TABLE grants ADD COLUMN reminded_at BIGINT;
