-- Sessions stay dead (see src/auth/session_store.rs): each session carries
-- its family (a random id kept across id rotation, new at sign-in), and
-- ending sessions remembers their families for an hour so a request still
-- running in one of them cannot write it back under a new id.
ALTER TABLE sessions ADD COLUMN family uuid;

CREATE TABLE session_revocations (
    family     uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX session_revocations_expires ON session_revocations (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON session_revocations TO bikri_app;
