-- Staff second factor limits: wrong codes (TOTP or recovery) are counted per
-- account; the fifth in a row locks the second factor until
-- `totp_locked_until` (the right code is refused meanwhile) and resets the
-- count. A right code resets it too. `totp_last_step` (already there) keeps
-- the last accepted time step, so a code works once.
ALTER TABLE accounts
    ADD COLUMN totp_failures     integer NOT NULL DEFAULT 0 CHECK (totp_failures >= 0),
    ADD COLUMN totp_locked_until timestamptz;
