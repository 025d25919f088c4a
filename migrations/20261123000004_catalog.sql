-- The catalog the reply engine is grounded in: business profile details,
-- delivery areas, payment methods, products and variants, reply rules and FAQ.
-- Every table is tenant-scoped with forced RLS. Money is integer minor units.

ALTER TABLE business_profiles
    ADD COLUMN city           text NOT NULL DEFAULT '',
    ADD COLUMN currency       text NOT NULL DEFAULT 'BDT' CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN languages      text[] NOT NULL DEFAULT ARRAY['en', 'bn'],
    ADD COLUMN opening_hours  text NOT NULL DEFAULT '',
    ADD COLUMN return_policy  text NOT NULL DEFAULT '',
    ADD CONSTRAINT business_profiles_languages CHECK (languages <@ ARRAY['en', 'bn'] AND cardinality(languages) > 0);

CREATE TABLE delivery_areas (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    charge_minor bigint NOT NULL CHECK (charge_minor >= 0),
    min_days     integer NOT NULL CHECK (min_days >= 0),
    max_days     integer NOT NULL CHECK (max_days >= min_days),
    position     integer NOT NULL DEFAULT 0,
    UNIQUE (owner_id, name)
);

CREATE TABLE payment_methods (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('cod', 'bkash', 'nagad', 'rocket', 'card', 'bank', 'other')),
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    instructions text NOT NULL DEFAULT '' CHECK (length(instructions) <= 1000),
    position     integer NOT NULL DEFAULT 0,
    UNIQUE (owner_id, label)
);

CREATE TABLE products (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sku              text NOT NULL CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_bn          text CHECK (name_bn IS NULL OR length(name_bn) BETWEEN 1 AND 200),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price_minor      bigint NOT NULL CHECK (price_minor >= 0),
    sale_price_minor bigint CHECK (sale_price_minor IS NULL OR (sale_price_minor >= 0 AND sale_price_minor < price_minor)),
    stock            integer CHECK (stock IS NULL OR stock >= 0),  -- NULL: made to order
    tags             text[] NOT NULL DEFAULT '{}',
    image_urls       text[] NOT NULL DEFAULT '{}',
    active           boolean NOT NULL DEFAULT true,
    archived_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, sku)
);
CREATE INDEX products_owner_name ON products (owner_id, lower(name));

CREATE TABLE product_variants (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id         uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    product_id       uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    size             text NOT NULL DEFAULT '' CHECK (length(size) <= 50),
    colour           text NOT NULL DEFAULT '' CHECK (length(colour) <= 50),
    price_delta_minor bigint NOT NULL DEFAULT 0,
    stock            integer CHECK (stock IS NULL OR stock >= 0),
    UNIQUE (product_id, size, colour),
    CHECK (size <> '' OR colour <> '')
);
CREATE INDEX product_variants_product ON product_variants (owner_id, product_id);

CREATE TABLE reply_rules (
    owner_id        uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    tone            text NOT NULL DEFAULT 'friendly' CHECK (tone IN ('friendly', 'formal')),
    never_say       text[] NOT NULL DEFAULT '{}',
    review_topics   text[] NOT NULL DEFAULT '{}',
    greeting        text NOT NULL DEFAULT '' CHECK (length(greeting) <= 1000),
    away_message    text NOT NULL DEFAULT '' CHECK (length(away_message) <= 1000),
    holding_message text NOT NULL DEFAULT '' CHECK (length(holding_message) <= 1000),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE faq_entries (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    patterns   text[] NOT NULL CHECK (cardinality(patterns) > 0),
    answer     text NOT NULL CHECK (length(answer) BETWEEN 1 AND 2000),
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['delivery_areas', 'payment_methods', 'products', 'product_variants', 'reply_rules', 'faq_entries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (owner_id = app_current_owner()) '
                       'WITH CHECK (owner_id = app_current_owner())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bikri_app', t);
    END LOOP;
END
$$;

-- A variant must belong to a product of the same owner.
CREATE FUNCTION product_variants_same_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM products p WHERE p.id = NEW.product_id AND p.owner_id = NEW.owner_id) THEN
        RAISE EXCEPTION 'variant and product belong to different owners';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER product_variants_same_owner BEFORE INSERT OR UPDATE ON product_variants
    FOR EACH ROW EXECUTE FUNCTION product_variants_same_owner();

-- Import rate limiting and the CSV preview waiting for confirmation.
CREATE TABLE catalog_imports (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    source      text NOT NULL CHECK (source IN ('csv', 'url')),
    rows        jsonb NOT NULL,
    valid       boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    imported_at timestamptz
);
ALTER TABLE catalog_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalog_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON catalog_imports USING (owner_id = app_current_owner())
    WITH CHECK (owner_id = app_current_owner());
GRANT SELECT, INSERT, UPDATE, DELETE ON catalog_imports TO bikri_app;
