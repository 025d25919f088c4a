-- Owner lifecycle and staff console: payment verification, trial allowance,
-- per-owner limits, payments (manual and Stripe), Stripe event idempotency,
-- and the narrow cross-tenant summary staff review owners with.
--
-- An owner's state is derived, not stored twice:
--   suspended            accounts.status = 'suspended'
--   pending_verification the email is not verified
--   verified             payment_verified_at is set
--   trial                otherwise

ALTER TABLE accounts
    ADD COLUMN payment_verified_at  timestamptz,
    -- What staff granted a trial owner: live channels and automatic replies a day.
    ADD COLUMN trial_channels       integer NOT NULL DEFAULT 0 CHECK (trial_channels BETWEEN 0 AND 10),
    ADD COLUMN trial_daily_replies  integer NOT NULL DEFAULT 0 CHECK (trial_daily_replies BETWEEN 0 AND 1000),
    -- Staff overrides of the daily automatic-reply limits (NULL: the default).
    ADD COLUMN owner_daily_limit    integer CHECK (owner_daily_limit BETWEEN 0 AND 1000000),
    ADD COLUMN channel_daily_limit  integer CHECK (channel_daily_limit BETWEEN 0 AND 1000000),
    -- The day (Dhaka) the owner was last told a daily limit was reached.
    ADD COLUMN limit_notice_day     date;

-- Verified payments: by staff by hand (bKash, Nagad…) or by Stripe. Billing
-- records of the account (like accounts itself), read and written by staff
-- and the Stripe webhook, never by the owner's tenant queries.
CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    method          text NOT NULL CHECK (method IN ('stripe', 'bkash', 'nagad', 'rocket', 'bank', 'cash', 'other')),
    reference       text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    recorded_by     uuid REFERENCES accounts (id),
    stripe_event_id text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_account ON payments (account_id, created_at DESC);
GRANT SELECT, INSERT ON payments TO bikri_app;

-- Stripe events already handled (Stripe retries; each event acts once).
CREATE TABLE stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON stripe_events TO bikri_app;

-- Per-owner activity for the staff review list: counts only, never a
-- message body, a customer or a token. Owned by bikri_definer, which may
-- read these tables for this purpose only.
GRANT SELECT (owner_id, name) ON business_profiles TO bikri_definer;
GRANT SELECT (owner_id, last_risk) ON conversations TO bikri_definer;
GRANT SELECT (owner_id, author, state, created_at) ON outbound_sends TO bikri_definer;
CREATE POLICY definer_lookup ON business_profiles FOR SELECT TO bikri_definer USING (true);
CREATE POLICY definer_lookup ON conversations FOR SELECT TO bikri_definer USING (true);
CREATE POLICY definer_lookup ON outbound_sends FOR SELECT TO bikri_definer USING (true);

CREATE FUNCTION staff_owner_activity(p_since timestamptz)
    RETURNS TABLE (owner_id uuid, business_name text, risky_conversations bigint, angry_conversations bigint,
                   automatic_sends bigint, live_channels bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT a.id,
                 coalesce((SELECT b.name FROM business_profiles b WHERE b.owner_id = a.id), ''),
                 (SELECT count(*) FROM conversations c WHERE c.owner_id = a.id AND c.last_risk IS NOT NULL),
                 (SELECT count(*) FROM conversations c WHERE c.owner_id = a.id AND c.last_risk = 'angry_complaint'),
                 (SELECT count(*) FROM outbound_sends o WHERE o.owner_id = a.id AND o.author = 'agent'
                     AND o.state IN ('sending', 'sent', 'uncertain') AND o.created_at >= p_since),
                 (SELECT count(*) FROM channels ch WHERE ch.owner_id = a.id AND ch.status <> 'disconnected'
                     AND ch.platform <> 'sandbox')
            FROM accounts a WHERE a.role = 'owner' $$;
GRANT SELECT (id, role) ON accounts TO bikri_definer;
GRANT SELECT (owner_id, status, platform) ON channels TO bikri_definer;
ALTER FUNCTION staff_owner_activity(timestamptz) OWNER TO bikri_definer;
REVOKE ALL ON FUNCTION staff_owner_activity(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staff_owner_activity(timestamptz) TO bikri_app;

-- Who may see what is checked by the web layer (staff with a second factor);
-- the kill switch's history is in security_events.
