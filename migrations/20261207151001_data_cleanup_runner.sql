-- Retention is now one of the purges of the periodic cleanup that `serve`
-- and `worker` run (bikriagent::cleanup), no longer a daily job: runs of the
-- old job still queued would find no handler.
DELETE FROM jobs WHERE kind = 'retention_purge' AND state IN ('queued', 'running');
