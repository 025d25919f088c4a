-- The live pipeline: customers, conversations, messages, the review queue,
-- automatic and manual sends, orders, and the platform's kill switch.
-- Every table here is tenant-scoped with forced RLS except the one-row
-- platform settings. Message bodies, drafts, conversation state and order
-- contact details are AES-256-GCM ciphertexts bound to their row.

-- Product lookup tolerant of spelling (reply engine candidates).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_name_trgm ON products USING gin (lower(name) gin_trgm_ops);
CREATE INDEX products_name_bn_trgm ON products USING gin (name_bn gin_trgm_ops);

-- Owner details a reply may state, and links it may send.
ALTER TABLE business_profiles
    ADD COLUMN contact_phone     text NOT NULL DEFAULT '' CHECK (length(contact_phone) <= 40),
    ADD COLUMN address           text NOT NULL DEFAULT '' CHECK (length(address) <= 500),
    ADD COLUMN bot_disclosure    boolean NOT NULL DEFAULT true,
    ADD COLUMN last_order_number bigint NOT NULL DEFAULT 1000;
ALTER TABLE reply_rules
    ADD COLUMN link_domains text[] NOT NULL DEFAULT '{}';

-- The sandbox channel: one per owner, chatted on from the dashboard, no Meta
-- token. Its meta_id is derived from the owner so it can never collide with
-- a Meta id (those are digits only).
ALTER TABLE channels DROP CONSTRAINT channels_platform_check;
ALTER TABLE channels ADD CONSTRAINT channels_platform_check
    CHECK (platform IN ('messenger', 'instagram', 'whatsapp', 'sandbox'));
ALTER TABLE channels DROP CONSTRAINT channels_meta_id_check;
ALTER TABLE channels ADD CONSTRAINT channels_meta_id_check
    CHECK ((platform <> 'sandbox' AND meta_id ~ '^[0-9]{1,30}$')
           OR (platform = 'sandbox' AND meta_id = 'sandbox:' || owner_id::text));
ALTER TABLE channels DROP CONSTRAINT channels_check;
ALTER TABLE channels ADD CONSTRAINT channels_token_check
    CHECK (platform = 'sandbox' OR status = 'disconnected' OR token_enc IS NOT NULL);

-- The global kill switch: one row. Automatic sends stop everywhere while it is off.
CREATE TABLE platform_settings (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    auto_send_enabled boolean NOT NULL DEFAULT true,
    changed_by        uuid REFERENCES accounts (id),
    reason            text NOT NULL DEFAULT '',
    changed_at        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO platform_settings DEFAULT VALUES;
GRANT SELECT, UPDATE ON platform_settings TO bikri_app;

CREATE TABLE customers (
    id          uuid PRIMARY KEY,
    owner_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel_id  uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    sender_id   text NOT NULL,          -- platform-scoped (PSID, IGSID, WhatsApp number)
    name_enc    bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, sender_id)
);
CREATE INDEX customers_owner ON customers (owner_id);

CREATE TABLE conversations (
    id               uuid PRIMARY KEY,
    owner_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel_id       uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    customer_id      uuid NOT NULL UNIQUE REFERENCES customers (id) ON DELETE CASCADE,
    -- 'agent': automatic replies allowed; 'human': the owner took over.
    mode             text NOT NULL DEFAULT 'agent' CHECK (mode IN ('agent', 'human')),
    state_enc        bytea,             -- the engine's ConversationState
    language         text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'bn', 'banglish')),
    -- When the customer last wrote (Meta's time): the 24-hour window runs from here.
    last_customer_at timestamptz,
    last_message_at  timestamptz NOT NULL DEFAULT now(),
    last_risk        text,
    -- Why the agent last did not answer, in words for the owner.
    last_note        text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_inbox ON conversations (owner_id, last_message_at DESC);

CREATE TABLE messages (
    id                  uuid PRIMARY KEY,
    owner_id            uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id     uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction           text NOT NULL CHECK (direction IN ('in', 'out')),
    author              text NOT NULL CHECK (author IN ('customer', 'agent', 'owner')),
    kind                text NOT NULL DEFAULT 'text',
    body_enc            bytea,
    -- The global inbound row this message was copied from (idempotent processing).
    inbound_id          uuid UNIQUE,
    provider_message_id text,
    risk                text,
    categories          text[] NOT NULL DEFAULT '{}',
    language            text,
    -- What the pipeline decided for this message, in words (replied, review: allergy, blocked: paused…).
    decision            text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (owner_id, conversation_id, created_at);

-- Every send, automatic or manual, is decided here first. The unique key makes
-- a retried job or a double-submitted form send once; the state machine
-- decided → sending → sent | failed | uncertain makes a crash mid-send end in
-- 'uncertain' (never sent twice) instead of in a second send.
CREATE TABLE outbound_sends (
    id                  uuid PRIMARY KEY,
    owner_id            uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id     uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel_id          uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    idempotency_key     text NOT NULL,
    author              text NOT NULL CHECK (author IN ('agent', 'owner')),
    reply_to            uuid REFERENCES messages (id) ON DELETE SET NULL,
    body_enc            bytea,
    state               text NOT NULL DEFAULT 'decided'
                        CHECK (state IN ('decided', 'sending', 'sent', 'failed', 'blocked', 'uncertain')),
    attempts            integer NOT NULL DEFAULT 0,
    blocked_by          text,           -- the gate that stopped it
    error               text,           -- Meta's code/kind, never a token
    provider_message_id text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    UNIQUE (owner_id, idempotency_key)
);
CREATE INDEX outbound_sends_daily ON outbound_sends (owner_id, channel_id, created_at) WHERE author = 'agent';
CREATE INDEX outbound_sends_conversation ON outbound_sends (conversation_id, created_at);

CREATE TABLE review_items (
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      uuid REFERENCES messages (id) ON DELETE SET NULL,
    reason          text NOT NULL,      -- risk category, 'safety', 'engine', 'gate', 'send_failed', 'no_text'
    detail          text NOT NULL DEFAULT '',
    draft_enc       bytea,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'sent', 'dismissed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     uuid
);
CREATE INDEX review_items_open ON review_items (owner_id, created_at) WHERE state = 'open';
CREATE UNIQUE INDEX review_items_one_per_message ON review_items (message_id, reason) WHERE message_id IS NOT NULL;

CREATE TABLE orders (
    id                    uuid PRIMARY KEY,
    owner_id              uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    number                bigint NOT NULL,
    conversation_id       uuid REFERENCES conversations (id) ON DELETE SET NULL,
    status                text NOT NULL DEFAULT 'pending_owner_confirmation'
                          CHECK (status IN ('pending_owner_confirmation', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    customer_name_enc     bytea,
    phone_enc             bytea,
    address_enc           bytea,
    delivery_area         text NOT NULL DEFAULT '',
    delivery_charge_minor bigint NOT NULL CHECK (delivery_charge_minor >= 0),
    items_total_minor     bigint NOT NULL CHECK (items_total_minor >= 0),
    total_minor           bigint NOT NULL CHECK (total_minor = items_total_minor + delivery_charge_minor),
    currency              text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, number)
);
CREATE INDEX orders_owner ON orders (owner_id, created_at DESC);

CREATE TABLE order_items (
    id               uuid PRIMARY KEY,
    owner_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       uuid REFERENCES products (id) ON DELETE SET NULL,
    variant_id       uuid REFERENCES product_variants (id) ON DELETE SET NULL,
    name             text NOT NULL,
    variant_label    text NOT NULL DEFAULT '',
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0)
);
CREATE INDEX order_items_order ON order_items (owner_id, order_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'conversations', 'messages', 'outbound_sends', 'review_items',
                             'orders', 'order_items'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (owner_id = app_current_owner()) '
                       'WITH CHECK (owner_id = app_current_owner())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bikri_app', t);
    END LOOP;
END
$$;
