-- Channels connected through Meta's OAuth: Facebook Pages (Messenger),
-- Instagram professional accounts and WhatsApp phone numbers. Tokens are
-- AES-256-GCM ciphertexts bound to their owner and channel.

CREATE TABLE channels (
    id               uuid PRIMARY KEY,
    owner_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    platform         text NOT NULL CHECK (platform IN ('messenger', 'instagram', 'whatsapp')),
    meta_id          text NOT NULL CHECK (meta_id ~ '^[0-9]{1,30}$'),
    parent_id        text,          -- the Page of an Instagram account, the WABA of a number
    display_name     text NOT NULL,
    token_enc        bytea,         -- NULL once disconnected
    status           text NOT NULL DEFAULT 'connected'
                     CHECK (status IN ('connected', 'paused', 'token_invalid', 'disconnected')),
    meta_user_id     text,          -- the Meta user who granted access (deauthorize / deletion callbacks)
    connected_at     timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    disconnected_at  timestamptz,
    CHECK (status = 'disconnected' OR token_enc IS NOT NULL)
);
-- A Meta id belongs to at most one owner at a time.
CREATE UNIQUE INDEX channels_one_owner ON channels (platform, meta_id) WHERE status <> 'disconnected';
CREATE INDEX channels_owner ON channels (owner_id);

-- What the OAuth callback found, kept (encrypted) until the owner picks.
CREATE TABLE pending_connections (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    data_enc     bytea NOT NULL,
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channels', 'pending_connections'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (owner_id = app_current_owner()) '
                       'WITH CHECK (owner_id = app_current_owner())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bikri_app', t);
    END LOOP;
END
$$;

-- Lookups that must cross tenants, each narrow and read-only. They run as
-- `bikri_definer`, a role that cannot log in, may only SELECT channels, and is
-- the one role a policy lets see every channel row: which owner holds a Meta id (webhooks, duplicate connects),
-- and which channels a Meta user granted (deauthorize and deletion callbacks).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bikri_definer') THEN
        CREATE ROLE bikri_definer NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT pg_has_role(current_user, 'bikri_definer', 'MEMBER') THEN
        EXECUTE format('GRANT bikri_definer TO %I', current_user);
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO bikri_definer;
GRANT SELECT ON channels TO bikri_definer;
CREATE POLICY definer_lookup ON channels FOR SELECT TO bikri_definer USING (true);

CREATE FUNCTION channel_holder(p_platform text, p_meta_id text)
    RETURNS TABLE (channel_id uuid, owner_id uuid, status text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, owner_id, status FROM channels
          WHERE platform = p_platform AND meta_id = p_meta_id AND status <> 'disconnected' $$;
CREATE FUNCTION channels_of_meta_user(p_meta_user_id text)
    RETURNS TABLE (channel_id uuid, owner_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, owner_id FROM channels WHERE meta_user_id = p_meta_user_id AND status <> 'disconnected' $$;
ALTER FUNCTION channel_holder(text, text) OWNER TO bikri_definer;
ALTER FUNCTION channels_of_meta_user(text) OWNER TO bikri_definer;
REVOKE ALL ON FUNCTION channel_holder(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION channels_of_meta_user(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION channel_holder(text, text) TO bikri_app;
GRANT EXECUTE ON FUNCTION channels_of_meta_user(text) TO bikri_app;

-- Meta's Data Deletion Request callback: looked up by confirmation code only.
CREATE TABLE meta_deletion_requests (
    confirmation_code text PRIMARY KEY,
    meta_user_id      text NOT NULL,
    status            text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'in_progress', 'completed')),
    received_at       timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);
GRANT SELECT, INSERT, UPDATE ON meta_deletion_requests TO bikri_app;
