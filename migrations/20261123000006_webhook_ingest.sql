-- Webhook ingest: every inbound customer message is stored durably and
-- idempotently before Meta gets its 200. The owner is not known yet at this
-- point (the channel is resolved by a worker), so these tables are global;
-- message text is encrypted at rest, bound to its row.

CREATE TABLE inbound_messages (
    id                  uuid PRIMARY KEY,
    platform            text NOT NULL CHECK (platform IN ('messenger', 'instagram', 'whatsapp')),
    provider_message_id text NOT NULL,
    channel_meta_id     text NOT NULL,
    sender_id           text NOT NULL,
    kind                text NOT NULL,
    body_enc            bytea,
    sender_name_enc     bytea,
    sent_at_ms          bigint NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    state               text NOT NULL DEFAULT 'received'
                        CHECK (state IN ('received', 'matched', 'unmatched', 'processed')),
    owner_id_resolved   uuid,
    UNIQUE (platform, provider_message_id)
);
CREATE INDEX inbound_messages_state ON inbound_messages (state, received_at);
GRANT SELECT, INSERT, UPDATE ON inbound_messages TO bikri_app;

-- Deliveries we could not use (malformed JSON, unknown shapes), kept for
-- inspection by staff, encrypted like messages.
CREATE TABLE webhook_inspection (
    id          uuid PRIMARY KEY,
    reason      text NOT NULL,
    body_enc    bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON webhook_inspection TO bikri_app;
