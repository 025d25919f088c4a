-- Lane pacing in O(1) per lane: instead of counting a lane's queued jobs in
-- every ingest batch (up to 5,000, so a flooded Page slowed its own ingest),
-- each lane keeps one virtual clock. `next_free_at` is the earliest time the
-- lane's next paced job may run; a lane without a row (or whose time is
-- (burst - 1) / per_second past) has its whole burst free. The ingest
-- statement (bikriagent::ingest) moves it forward by 1 / per_second for each
-- new message, under the row's lock, so concurrent batches of one lane are
-- spaced as if they were one.
--
-- The table holds no owner data (a lane is `<platform>:<meta id>` of a
-- channel, known before any owner is), so like `jobs` it is global, without
-- RLS, granted to the application role. Once its time has passed a lane is
-- no longer paced; the periodic cleanup (bikriagent::cleanup) deletes such
-- rows, which gives the lane its whole burst again.
CREATE TABLE lane_pacing (
    lane         text PRIMARY KEY,
    next_free_at timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON lane_pacing TO bikri_app;

-- Its only reader was the per-batch count; every job insert and state change
-- no longer maintains it.
DROP INDEX jobs_lane_queued;
