-- Claiming a job looks for the oldest due queued job, or else a running job
-- whose lease ran out. One partial index per half keeps both lookups to a
-- few index pages however many finished jobs the table holds (the old single
-- index on run_at for both states had to filter every running job).
CREATE INDEX jobs_queued ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
DROP INDEX jobs_runnable;

-- Every job row is updated two or three times in seconds: vacuum the queue
-- early so dead index entries do not pile up under load.
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05);
