-- Each Page, Instagram account or WhatsApp number is a lane of the job queue
-- (`<platform>:<meta id>`): ingest paces a lane whose backlog passed its burst,
-- so one flooded channel cannot take every worker from the others. The
-- backlog of a lane is counted from this index when a delivery is stored.
ALTER TABLE jobs ADD COLUMN lane text;
CREATE INDEX jobs_lane_queued ON jobs (lane) WHERE state = 'queued';
