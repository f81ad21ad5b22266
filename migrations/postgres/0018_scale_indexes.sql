-- Reads that ran on every data map search or queue page scanned whole tables: what the
-- searcher's projects may do with the hits (grants and requests by queue), and how many queues
-- each cluster carries (by primary and by backup cluster).
CREATE INDEX grants_by_queue ON grants (queue_id);
CREATE INDEX access_requests_by_queue ON access_requests (queue_id, status);
CREATE INDEX queues_by_primary_cluster ON queues (primary_cluster_id);
CREATE INDEX queues_by_backup_cluster ON queues (backup_cluster_id, primary_cluster_id);
