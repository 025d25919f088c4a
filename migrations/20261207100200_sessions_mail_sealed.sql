-- Mail bodies at rest are sealed with the data key (src/mail.rs) and
-- deleted once the message is delivered; the row stays (the alert throttle
-- counts it, staff see what was sent when).
ALTER TABLE mail_outbox ADD COLUMN body_sealed bytea;
ALTER TABLE mail_outbox ALTER COLUMN body_text DROP NOT NULL;
-- Delivered bodies are not needed: drop them now. Mail still waiting keeps
-- its clear body until the worker delivers it and deletes it; nothing
-- writes body_text any more.
UPDATE mail_outbox SET body_text = NULL WHERE sent_at IS NOT NULL;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_delivered_without_body
    CHECK (sent_at IS NULL OR (body_sealed IS NULL AND body_text IS NULL));
