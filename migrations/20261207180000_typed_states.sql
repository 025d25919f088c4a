-- Typed states: the columns that hold a state, a kind or a name from a fixed
-- set become PostgreSQL enum types, each mirrored by a Rust enum deriving
-- sqlx::Type (named in the comment above it). A value outside the set is
-- refused by the type itself, and a Rust query that binds text where the
-- type is wanted fails in the tests rather than writing a typo.
--
-- ALTER COLUMN ... TYPE rewrites each table once. What depends on the text
-- form is dropped first and recreated after: the CHECKs (the type replaces
-- them; the ones that say more than the set are kept), the partial indexes
-- whose predicate compares with a text literal, column defaults, and the two
-- definer functions that take or return these columns. The append-only
-- trigger of security_events fires on UPDATE and DELETE rows only, never on
-- ALTER TABLE, and compares NEW.kind = OLD.kind, which an enum does as well.
--
-- Adding a value later is `ALTER TYPE ... ADD VALUE` in a migration of its
-- own; values are never removed (old rows, the audit log above all, keep them).

-- bikriagent::sending::SendState
CREATE TYPE send_state AS ENUM ('decided', 'sending', 'sent', 'failed', 'blocked', 'uncertain');
-- bikriagent::conversations::ConversationMode
CREATE TYPE conversation_mode AS ENUM ('agent', 'human');
-- bikriagent::channels::ChannelStatus
CREATE TYPE channel_status AS ENUM ('connected', 'paused', 'token_invalid', 'disconnected');
-- bikriagent::channels::ChannelPlatform (all four); bikriagent::meta::graph::Platform
-- is the same type without the sandbox (what Meta delivers and sends).
CREATE TYPE channel_platform AS ENUM ('messenger', 'instagram', 'whatsapp', 'sandbox');
-- bikriagent::conversations::MessageAuthor (all three); bikriagent::sending::Author
-- is the same type without the customer (who never sends through us).
CREATE TYPE message_author AS ENUM ('customer', 'agent', 'owner');
-- bikriagent::conversations::ReviewReason: the classifier's risk categories,
-- then the pipeline's own reasons.
CREATE TYPE review_reason AS ENUM (
    'allergy', 'refund', 'payment_issue', 'angry_complaint', 'prompt_injection', 'human_request',
    'no_text', 'engine', 'safety', 'gate', 'send_failed', 'send_uncertain'
);
-- bikriagent::audit::AuditKind: every kind any version has recorded.
CREATE TYPE audit_kind AS ENUM (
    'signup', 'signup_existing_email', 'email_verified',
    'login_succeeded', 'login_failed', 'login_throttled', 'login_refused_suspended', 'account_locked', 'logout',
    'password_reset_requested', 'password_reset', 'password_changed',
    'session_revoked', 'sessions_revoked_all',
    'account_suspended', 'account_unsuspended',
    'staff_created', 'totp_enrolled', 'second_factor_passed', 'second_factor_failed', 'second_factor_locked',
    'turnstile_failed', 'oauth_state_mismatch', 'webhook_signature_refused',
    'channel_connected', 'channel_claim_conflict', 'channel_paused', 'channel_resumed', 'channel_disconnected',
    'channel_token_invalid', 'unmatched_channel',
    'conversation_taken_over', 'conversation_handed_back', 'owner_reply_queued', 'staff_opened_review_case',
    'order_status_changed', 'customer_data_deleted',
    'payment_verified', 'trial_allowance_granted', 'limits_changed', 'kill_switch_engaged', 'kill_switch_released',
    'stripe_signature_invalid', 'stripe_payment_unmatched'
);

-- The definer functions are recreated below with typed parameters and results.
DROP FUNCTION channel_holder(text, text);
DROP FUNCTION staff_channel_overview();

-- channels
DROP INDEX channels_one_owner;
ALTER TABLE channels
    DROP CONSTRAINT channels_platform_check,
    DROP CONSTRAINT channels_status_check,
    DROP CONSTRAINT channels_meta_id_check,
    DROP CONSTRAINT channels_token_check,
    ALTER COLUMN status DROP DEFAULT;
ALTER TABLE channels
    ALTER COLUMN platform TYPE channel_platform USING platform::channel_platform,
    ALTER COLUMN status TYPE channel_status USING status::channel_status,
    ALTER COLUMN status SET DEFAULT 'connected',
    ADD CONSTRAINT channels_meta_id_check
        CHECK ((platform <> 'sandbox' AND meta_id ~ '^[0-9]{1,30}$')
               OR (platform = 'sandbox' AND meta_id = 'sandbox:' || owner_id::text)),
    ADD CONSTRAINT channels_token_check
        CHECK (platform = 'sandbox' OR status = 'disconnected' OR token_enc IS NOT NULL);
-- A Meta id belongs to at most one owner at a time.
CREATE UNIQUE INDEX channels_one_owner ON channels (platform, meta_id) WHERE status <> 'disconnected';

-- inbound_messages: Meta's platforms only (the sandbox never arrives by webhook).
ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_platform_check;
ALTER TABLE inbound_messages
    ALTER COLUMN platform TYPE channel_platform USING platform::channel_platform,
    ADD CONSTRAINT inbound_messages_platform_check CHECK (platform <> 'sandbox');

-- conversations
ALTER TABLE conversations
    DROP CONSTRAINT conversations_mode_check,
    ALTER COLUMN mode DROP DEFAULT;
ALTER TABLE conversations
    ALTER COLUMN mode TYPE conversation_mode USING mode::conversation_mode,
    ALTER COLUMN mode SET DEFAULT 'agent';

-- messages
ALTER TABLE messages DROP CONSTRAINT messages_author_check;
ALTER TABLE messages ALTER COLUMN author TYPE message_author USING author::message_author;

-- outbound_sends: the customer never sends.
DROP INDEX outbound_sends_daily;
ALTER TABLE outbound_sends
    DROP CONSTRAINT outbound_sends_author_check,
    DROP CONSTRAINT outbound_sends_state_check,
    ALTER COLUMN state DROP DEFAULT;
ALTER TABLE outbound_sends
    ALTER COLUMN author TYPE message_author USING author::message_author,
    ALTER COLUMN state TYPE send_state USING state::send_state,
    ALTER COLUMN state SET DEFAULT 'decided',
    ADD CONSTRAINT outbound_sends_author_check CHECK (author <> 'customer');
CREATE INDEX outbound_sends_daily ON outbound_sends (owner_id, channel_id, created_at) WHERE author = 'agent';

-- review_items (review_items_one_per_message is rebuilt as it is)
ALTER TABLE review_items ALTER COLUMN reason TYPE review_reason USING reason::review_reason;

-- security_events (security_events_kind is rebuilt as it is)
ALTER TABLE security_events ALTER COLUMN kind TYPE audit_kind USING kind::audit_kind;

-- Which owner holds a Meta id (webhooks, duplicate connects).
CREATE FUNCTION channel_holder(p_platform channel_platform, p_meta_id text)
    RETURNS TABLE (channel_id uuid, owner_id uuid, status channel_status)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, owner_id, status FROM channels
          WHERE platform = p_platform AND meta_id = p_meta_id AND status <> 'disconnected' $$;
ALTER FUNCTION channel_holder(channel_platform, text) OWNER TO bikri_definer;
REVOKE ALL ON FUNCTION channel_holder(channel_platform, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION channel_holder(channel_platform, text) TO bikri_app;

-- Staff see every live channel, with the lock and its reason.
CREATE FUNCTION staff_channel_overview()
    RETURNS TABLE (channel_id uuid, owner_id uuid, owner_email text, owner_status text, platform channel_platform,
                   display_name text, status channel_status, connected_at timestamptz, paused_by_staff boolean,
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
