-- Security alerts are throttled by counting an account's recent mail in the
-- outbox (src/alerts.rs), on the login path among others. The outbox only
-- grows, so without this index every check would read all of it.
CREATE INDEX mail_outbox_account_recent ON mail_outbox (account_id, created_at DESC);
