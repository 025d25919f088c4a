-- Accounts (global: identity is looked up before any tenant is known) and the
-- first tenant table, the business profile, with the RLS pattern every tenant
-- table follows: ENABLE + FORCE row level security and one policy on owner_id.

CREATE TABLE accounts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    role              text NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'staff', 'admin')),
    email             text NOT NULL,
    name              text NOT NULL,
    phone             text,
    password_hash     text NOT NULL,
    status            text NOT NULL DEFAULT 'pending_verification'
                      CHECK (status IN ('pending_verification', 'active', 'suspended')),
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
GRANT SELECT, INSERT, UPDATE ON accounts TO bikri_app;

CREATE TABLE business_profiles (
    owner_id    uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE business_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE business_profiles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON business_profiles
    USING (owner_id = app_current_owner())
    WITH CHECK (owner_id = app_current_owner());
GRANT SELECT, INSERT, UPDATE, DELETE ON business_profiles TO bikri_app;
