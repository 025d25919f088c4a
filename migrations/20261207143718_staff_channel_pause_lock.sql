-- A staff pause is a lock: the owner cannot resume it, sees why on the
-- Channels page, and only staff lift it. The flag stays on the row through a
-- Meta token problem or a disconnect, so reconnecting the channel brings it
-- back paused. Who paused it is in the audit log (`channel_paused`).
ALTER TABLE channels
    ADD COLUMN paused_by_staff boolean NOT NULL DEFAULT false,
    ADD COLUMN pause_reason    text,
    ADD COLUMN staff_paused_at timestamptz,
    ADD CONSTRAINT channels_staff_pause_has_reason
        CHECK (NOT paused_by_staff OR (btrim(coalesce(pause_reason, '')) <> '' AND staff_paused_at IS NOT NULL));

-- Staff see the lock and its reason on their channel list.
DROP FUNCTION staff_channel_overview();
CREATE FUNCTION staff_channel_overview()
    RETURNS TABLE (channel_id uuid, owner_id uuid, owner_email text, owner_status text, platform text,
                   display_name text, status text, connected_at timestamptz, paused_by_staff boolean,
                   pause_reason text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT c.id, c.owner_id, a.email, a.status, c.platform, c.display_name, c.status, c.connected_at,
                 c.paused_by_staff, c.pause_reason
            FROM channels c JOIN accounts a ON a.id = c.owner_id
           WHERE c.status <> 'disconnected'
           ORDER BY a.email, c.connected_at $$;
ALTER FUNCTION staff_channel_overview() OWNER TO bikri_definer;
REVOKE ALL ON FUNCTION staff_channel_overview() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staff_channel_overview() TO bikri_app;
