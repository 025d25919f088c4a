-- Foundation: the application role, the tenant-scope function, the job queue.

-- The role every application query runs as. It cannot log in by itself, is not
-- a superuser, has no BYPASSRLS and will own nothing, so Row Level Security
-- always applies to it. Deployments log in with a role that is a member of it
-- (or as the owner role, which then switches to it with SET ROLE).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bikri_app') THEN
        CREATE ROLE bikri_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT pg_has_role(current_user, 'bikri_app', 'MEMBER') THEN
        EXECUTE format('GRANT bikri_app TO %I', current_user);
    END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO bikri_app;
GRANT SELECT ON _sqlx_migrations TO bikri_app;

-- The owner whose rows the current transaction may see. NULL (no row visible)
-- when app.owner_id is unset or was reset to '' at the end of an earlier
-- transaction on the same pooled connection.
CREATE FUNCTION app_current_owner() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.owner_id', true), '')::uuid $$;

CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key   text UNIQUE,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 10,
    locked_until timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX jobs_runnable ON jobs (run_at) WHERE state IN ('queued', 'running');
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO bikri_app;
GRANT USAGE ON SEQUENCE jobs_id_seq TO bikri_app;
