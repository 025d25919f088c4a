-- Staff may pause any owner's channel: they need to see every channel (never
-- a token). One narrow read-only function, owned by bikri_definer; the web
-- layer lets only staff with their second factor call it.

GRANT SELECT (id, email, status) ON accounts TO bikri_definer;

CREATE FUNCTION staff_channel_overview()
    RETURNS TABLE (channel_id uuid, owner_id uuid, owner_email text, owner_status text, platform text,
                   display_name text, status text, connected_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT c.id, c.owner_id, a.email, a.status, c.platform, c.display_name, c.status, c.connected_at
            FROM channels c JOIN accounts a ON a.id = c.owner_id
           WHERE c.status <> 'disconnected'
           ORDER BY a.email, c.connected_at $$;
ALTER FUNCTION staff_channel_overview() OWNER TO bikri_definer;
REVOKE ALL ON FUNCTION staff_channel_overview() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staff_channel_overview() TO bikri_app;
