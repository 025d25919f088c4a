-- Ownership enforced by the schema: every reference between two owner-held
-- rows carries the owner too, so a row can only point at a row of the same
-- owner. Row Level Security already keeps each owner's queries to their own
-- rows; these keys make a mix-up impossible to store at all, even by the
-- table owner or a maintenance script that bypasses RLS.
--
-- Each parent gets a unique (owner_id, id) key for the references to use.
-- A reference that is cleared on delete names its own column
-- (SET NULL (column), PostgreSQL 15), so owner_id stays set.

ALTER TABLE channels         ADD CONSTRAINT channels_owner_row         UNIQUE (owner_id, id);
ALTER TABLE customers        ADD CONSTRAINT customers_owner_row        UNIQUE (owner_id, id);
ALTER TABLE conversations    ADD CONSTRAINT conversations_owner_row    UNIQUE (owner_id, id);
ALTER TABLE messages         ADD CONSTRAINT messages_owner_row         UNIQUE (owner_id, id);
ALTER TABLE products         ADD CONSTRAINT products_owner_row         UNIQUE (owner_id, id);
ALTER TABLE product_variants ADD CONSTRAINT product_variants_owner_row UNIQUE (owner_id, id);
ALTER TABLE orders           ADD CONSTRAINT orders_owner_row           UNIQUE (owner_id, id);

ALTER TABLE customers
    DROP CONSTRAINT customers_channel_id_fkey,
    ADD CONSTRAINT customers_channel FOREIGN KEY (owner_id, channel_id)
        REFERENCES channels (owner_id, id) ON DELETE CASCADE;

ALTER TABLE conversations
    DROP CONSTRAINT conversations_channel_id_fkey,
    DROP CONSTRAINT conversations_customer_id_fkey,
    ADD CONSTRAINT conversations_channel FOREIGN KEY (owner_id, channel_id)
        REFERENCES channels (owner_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT conversations_customer FOREIGN KEY (owner_id, customer_id)
        REFERENCES customers (owner_id, id) ON DELETE CASCADE;

ALTER TABLE messages
    DROP CONSTRAINT messages_conversation_id_fkey,
    ADD CONSTRAINT messages_conversation FOREIGN KEY (owner_id, conversation_id)
        REFERENCES conversations (owner_id, id) ON DELETE CASCADE;

ALTER TABLE outbound_sends
    DROP CONSTRAINT outbound_sends_channel_id_fkey,
    DROP CONSTRAINT outbound_sends_conversation_id_fkey,
    DROP CONSTRAINT outbound_sends_reply_to_fkey,
    ADD CONSTRAINT outbound_sends_channel FOREIGN KEY (owner_id, channel_id)
        REFERENCES channels (owner_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT outbound_sends_conversation FOREIGN KEY (owner_id, conversation_id)
        REFERENCES conversations (owner_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT outbound_sends_reply_to FOREIGN KEY (owner_id, reply_to)
        REFERENCES messages (owner_id, id) ON DELETE SET NULL (reply_to);

ALTER TABLE review_items
    DROP CONSTRAINT review_items_conversation_id_fkey,
    DROP CONSTRAINT review_items_message_id_fkey,
    ADD CONSTRAINT review_items_conversation FOREIGN KEY (owner_id, conversation_id)
        REFERENCES conversations (owner_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT review_items_message FOREIGN KEY (owner_id, message_id)
        REFERENCES messages (owner_id, id) ON DELETE SET NULL (message_id);

ALTER TABLE orders
    DROP CONSTRAINT orders_conversation_id_fkey,
    ADD CONSTRAINT orders_conversation FOREIGN KEY (owner_id, conversation_id)
        REFERENCES conversations (owner_id, id) ON DELETE SET NULL (conversation_id);

ALTER TABLE order_items
    DROP CONSTRAINT order_items_order_id_fkey,
    DROP CONSTRAINT order_items_product_id_fkey,
    DROP CONSTRAINT order_items_variant_id_fkey,
    ADD CONSTRAINT order_items_order FOREIGN KEY (owner_id, order_id)
        REFERENCES orders (owner_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT order_items_product FOREIGN KEY (owner_id, product_id)
        REFERENCES products (owner_id, id) ON DELETE SET NULL (product_id),
    ADD CONSTRAINT order_items_variant FOREIGN KEY (owner_id, variant_id)
        REFERENCES product_variants (owner_id, id) ON DELETE SET NULL (variant_id);

ALTER TABLE product_variants
    DROP CONSTRAINT product_variants_product_id_fkey,
    ADD CONSTRAINT product_variants_product FOREIGN KEY (owner_id, product_id)
        REFERENCES products (owner_id, id) ON DELETE CASCADE;
