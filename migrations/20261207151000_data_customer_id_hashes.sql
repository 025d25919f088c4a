-- Customers' platform ids (on WhatsApp, their phone number; on Messenger and
-- Instagram, a Page-scoped id) are no longer stored in clear. Each row that
-- names a customer keeps a keyed hash to find it by (HMAC-SHA256 under a key
-- derived from BIKRI_DATA_KEY) and the id sealed to its row, to reply and to
-- show its last digits (bikriagent::customer_ids).
--
-- SQL cannot compute either without the key: rows written by earlier
-- versions keep their id in `legacy_sender_id` until the first start of this
-- version rewrites them and empties it (customer_ids::backfill, recorded in
-- data_backfills). The checks below keep every row either legacy or
-- protected.

ALTER TABLE inbound_messages RENAME COLUMN sender_id TO legacy_sender_id;
ALTER TABLE inbound_messages
    ALTER COLUMN legacy_sender_id DROP NOT NULL,
    ADD COLUMN sender_hash bytea,
    -- Cleared once the message is recorded for its owner; the hash stays
    -- for deletion.
    ADD COLUMN sender_enc bytea,
    ADD CONSTRAINT inbound_messages_sender_check CHECK (legacy_sender_id IS NOT NULL OR sender_hash IS NOT NULL);
CREATE INDEX inbound_messages_sender ON inbound_messages (sender_hash);
CREATE INDEX inbound_messages_legacy ON inbound_messages (id) WHERE legacy_sender_id IS NOT NULL;

ALTER TABLE customers RENAME COLUMN sender_id TO legacy_sender_id;
ALTER TABLE customers DROP CONSTRAINT customers_channel_id_sender_id_key;
ALTER TABLE customers
    ALTER COLUMN legacy_sender_id DROP NOT NULL,
    ADD COLUMN sender_hash bytea,
    ADD COLUMN sender_enc bytea,
    ADD CONSTRAINT customers_sender_check
        CHECK (legacy_sender_id IS NOT NULL OR (sender_hash IS NOT NULL AND sender_enc IS NOT NULL));
CREATE UNIQUE INDEX customers_channel_sender ON customers (channel_id, sender_hash);
CREATE INDEX customers_legacy ON customers (owner_id) WHERE legacy_sender_id IS NOT NULL;

-- One-time rewrites of data that need the key, done by the application at
-- start (SQL migrations have no key): the name of each one that finished.
CREATE TABLE data_backfills (
    name    text PRIMARY KEY,
    done_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON data_backfills TO bikri_app;
