-- Accounts: sessions, one-time tokens, login throttling, rate limits, the
-- mail outbox, TOTP for staff, and the append-only security event log.

ALTER TABLE accounts
    ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN suspended_reason    text,
    ADD COLUMN totp_secret_enc     bytea,
    ADD COLUMN totp_enabled_at     timestamptz,
    ADD COLUMN totp_last_step      bigint;

-- Server-side sessions (tower-sessions store). The cookie carries the id; only
-- its SHA-256 is stored, so a database dump cannot be replayed as cookies.
CREATE TABLE sessions (
    id_hash      bytea PRIMARY KEY,
    account_id   uuid REFERENCES accounts (id) ON DELETE CASCADE,
    data         jsonb NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ip           text,
    user_agent   text
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX sessions_expires ON sessions (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO bikri_app;

-- Single-use tokens sent by mail (email verification, password reset):
-- only the SHA-256 of the token is kept.
CREATE TABLE auth_tokens (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_tokens_account ON auth_tokens (account_id, purpose);
GRANT SELECT, INSERT, UPDATE, DELETE ON auth_tokens TO bikri_app;

-- Login attempts by normalised email (not by account), so unknown emails are
-- throttled exactly like real ones and timing or answers reveal nothing.
CREATE TABLE login_attempts (
    id        bigserial PRIMARY KEY,
    email_key text NOT NULL,
    succeeded boolean NOT NULL,
    ip        text,
    at        timestamptz NOT NULL
);
CREATE INDEX login_attempts_email_at ON login_attempts (email_key, at DESC);
GRANT SELECT, INSERT, DELETE ON login_attempts TO bikri_app;
GRANT USAGE ON SEQUENCE login_attempts_id_seq TO bikri_app;

-- Fixed-window counters shared by every app instance. A window starts at
-- the first hit after the previous one ended.
CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL DEFAULT 0
);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_limits TO bikri_app;

-- Mail waiting to be sent by a worker (SMTP, or the local mailbox folder).
CREATE TABLE mail_outbox (
    id         bigserial PRIMARY KEY,
    account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    kind       text NOT NULL,
    to_address text NOT NULL,
    subject    text NOT NULL,
    body_text  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
GRANT SELECT, INSERT, UPDATE, DELETE ON mail_outbox TO bikri_app;
GRANT USAGE ON SEQUENCE mail_outbox_id_seq TO bikri_app;

CREATE TABLE recovery_codes (
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (account_id, code_hash)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO bikri_app;

-- Append-only audit of security-relevant events. Never holds a password,
-- token or cookie. The application role may only insert and read; a trigger
-- refuses UPDATE and DELETE for everyone, owner role included.
CREATE TABLE security_events (
    id         bigserial PRIMARY KEY,
    account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    actor_id   uuid REFERENCES accounts (id) ON DELETE SET NULL,
    kind       text NOT NULL,
    ip         text,
    user_agent text,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX security_events_account ON security_events (account_id, created_at DESC);
CREATE INDEX security_events_kind ON security_events (kind, created_at DESC);
GRANT SELECT, INSERT ON security_events TO bikri_app;
GRANT USAGE ON SEQUENCE security_events_id_seq TO bikri_app;

CREATE FUNCTION security_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- ON DELETE SET NULL from accounts is the one allowed change: data
    -- deletion removes the person, the event stays.
    IF TG_OP = 'UPDATE'
       AND NEW.id = OLD.id AND NEW.kind = OLD.kind AND NEW.created_at = OLD.created_at
       AND NEW.detail = OLD.detail AND NEW.ip IS NOT DISTINCT FROM OLD.ip
       AND NEW.user_agent IS NOT DISTINCT FROM OLD.user_agent
       AND (NEW.account_id IS NULL OR NEW.account_id = OLD.account_id)
       AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'security_events is append-only';
END
$$;
CREATE TRIGGER security_events_append_only
    BEFORE UPDATE OR DELETE ON security_events
    FOR EACH ROW EXECUTE FUNCTION security_events_append_only();
