-- Conversation handling: when the owner last answered (a reply from our
-- inbox, or from Meta's own apps seen as an echo), so a takeover can end
-- after a quiet period.
ALTER TABLE conversations ADD COLUMN owner_active_at timestamptz;
