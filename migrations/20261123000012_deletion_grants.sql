-- Customer data deletion removes the global ingest rows that still name a
-- customer (their sender id), and retention deletes old unmatched
-- deliveries and inspection copies.
GRANT DELETE ON inbound_messages TO bikri_app;
GRANT DELETE ON webhook_inspection TO bikri_app;
