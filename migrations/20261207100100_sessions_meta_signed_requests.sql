-- Meta's Deauthorize and Data Deletion callbacks accepted so far: the
-- SHA-256 of each signed_request's signature, kept until the request would
-- be refused as too old anyway (issued_at + 1 hour), so none is accepted twice.
CREATE TABLE meta_signed_requests (
    fingerprint bytea PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX meta_signed_requests_expires ON meta_signed_requests (expires_at);
GRANT SELECT, INSERT, DELETE ON meta_signed_requests TO bikri_app;
