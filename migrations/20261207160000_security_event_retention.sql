-- The audit log is append-only for a year at least, then purged by the
-- cleanup runner after BIKRI_SECURITY_EVENT_RETENTION_DAYS. The floor lives
-- here, in the trigger: no role, the application's included, can delete an
-- event younger than 365 days, whatever the configuration says.
CREATE OR REPLACE FUNCTION security_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.created_at < now() - interval '365 days' THEN
        RETURN OLD;
    END IF;
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
GRANT DELETE ON security_events TO bikri_app;
