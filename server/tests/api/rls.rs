//! Row Level Security: the application role cannot read past it.

use bikriagent::tenancy::{OwnerId, begin_tenant_tx};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::spawn_app;

/// Tables that are deliberately not tenant-scoped, with the reason.
const GLOBAL_TABLES: &[(&str, &str)] = &[
    ("_sqlx_migrations", "migration bookkeeping"),
    ("accounts", "identity is looked up at login, before any tenant is known"),
    (
        "jobs",
        "the shared queue; payloads carry ids and handlers open tenant transactions",
    ),
    (
        "lane_pacing",
        "one pacing clock per channel lane of the queue, moved by ingest before the owner is known",
    ),
    ("sessions", "looked up by cookie before the owner is known"),
    (
        "session_revocations",
        "families of ended sessions, checked when a session is written, before the owner is known",
    ),
    ("auth_tokens", "looked up by token before the owner is known"),
    ("login_attempts", "keyed by email so unknown emails are throttled alike"),
    ("rate_limits", "keyed by IP, email or account"),
    ("mail_outbox", "sent by a worker for every account"),
    ("recovery_codes", "staff second factor, used before a session exists"),
    ("security_events", "platform audit log, read by staff"),
    (
        "inbound_messages",
        "stored before the owner is known; text encrypted; a worker moves it to the owner",
    ),
    (
        "webhook_inspection",
        "malformed or unknown deliveries kept for staff, encrypted",
    ),
    (
        "platform_settings",
        "the one-row global kill switch, read by every send",
    ),
    (
        "payments",
        "billing records of the account, written by staff or the Stripe webhook, read by staff",
    ),
    (
        "stripe_events",
        "Stripe event ids already handled, before any owner is known",
    ),
    (
        "data_backfills",
        "which one-time rewrites of the whole database (needing the data key) are done",
    ),
    (
        "meta_deletion_requests",
        "Meta's callback, keyed by Meta user and confirmation code, before any owner is known",
    ),
    (
        "meta_signed_requests",
        "Meta callbacks already accepted (a hash of each), before any owner is known",
    ),
];

async fn seed_owner(admin: &PgPool, email: &str, business: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "insert into accounts (email, name, password_hash) values ($1, 'Test Owner', 'x') returning id",
    )
    .bind(email)
    .fetch_one(admin)
    .await
    .unwrap();
    sqlx::query("insert into business_profiles (owner_id, name) values ($1, $2)")
        .bind(id)
        .bind(business)
        .execute(admin)
        .await
        .unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_role_sees_no_tenant_rows_without_an_owner_and_only_its_own_with_one() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let a = seed_owner(&admin, "a@example.com", "Shop A").await;
    let b = seed_owner(&admin, "b@example.com", "Shop B").await;

    let (role, superuser): (String, bool) =
        sqlx::query_as("select current_user::text, rolsuper from pg_roles where rolname = current_user")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(role, "bikri_app");
    assert!(!superuser);

    let unscoped: i64 = sqlx::query_scalar("select count(*) from business_profiles")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(unscoped, 0, "no app.owner_id: RLS fails closed");

    let mut tx = begin_tenant_tx(&app.pool, OwnerId::from_verified(a)).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar("select name from business_profiles")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, vec!["Shop A".to_owned()]);
    let updated = sqlx::query("update business_profiles set name = 'hijacked' where owner_id = $1")
        .bind(b)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 0, "cannot touch another owner's row");
    let insert_for_b = sqlx::query("insert into business_profiles (owner_id, name) values ($1, 'x')")
        .bind(b)
        .execute(&mut *tx)
        .await;
    assert!(insert_for_b.is_err(), "WITH CHECK refuses rows for another owner");
    tx.rollback().await.unwrap();

    // The setting is transaction-local: the pooled connection forgets it.
    let after: i64 = sqlx::query_scalar("select count(*) from business_profiles")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(after, 0);

    let mut tx = bikriagent::db::begin(&app.pool).await.unwrap();
    sqlx::query("set local row_security = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    let escape = sqlx::query_scalar::<_, i64>("select count(*) from business_profiles")
        .fetch_one(&mut *tx)
        .await;
    assert!(
        escape.is_err(),
        "row_security=off must raise, not reveal rows: {escape:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_table_forces_rls_and_every_other_table_is_declared_global() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    let tables: Vec<(String, bool, bool, bool, i64)> = sqlx::query_as(
        "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                exists(select 1 from information_schema.columns col \
                        where col.table_schema = 'public' and col.table_name = c.relname \
                          and col.column_name = 'owner_id'), \
                (select count(*) from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname) \
           from pg_class c join pg_namespace n on n.oid = c.relnamespace \
          where n.nspname = 'public' and c.relkind in ('r', 'p') \
          order by 1",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(
        tables.iter().any(|t| t.0 == "business_profiles"),
        "the check sees the tenant tables"
    );
    for (name, enabled, forced, has_owner, policies) in tables {
        if has_owner {
            assert!(enabled, "{name}: row level security not enabled");
            assert!(forced, "{name}: row level security not forced");
            assert!(policies > 0, "{name}: no policy");
        } else {
            assert!(
                GLOBAL_TABLES.iter().any(|(global, _)| *global == name),
                "{name} has no owner_id column and is not declared global: \
                 add owner_id with a forced RLS policy, or add it to GLOBAL_TABLES with a reason"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_refuses_to_run_as_a_role_that_bypasses_rls() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await; // the cluster's superuser
    let error = bikriagent::db::verify_app_role(&admin)
        .await
        .expect_err("superuser refused");
    assert!(error.to_string().contains("superuser"), "{error}");
    bikriagent::db::verify_app_role(&app.pool)
        .await
        .expect("the app role is safe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reference_between_owner_rows_carries_the_owner() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    // Foreign keys from a table with owner_id to another table with
    // owner_id that do not include owner_id on both sides.
    let unscoped: Vec<String> = sqlx::query_scalar(
        "select c.conrelid::regclass::text || ' -> ' || c.confrelid::regclass::text \
           from pg_constraint c \
           join pg_attribute child on child.attrelid = c.conrelid and child.attname = 'owner_id' \
           join pg_attribute parent on parent.attrelid = c.confrelid and parent.attname = 'owner_id' \
          where c.contype = 'f' and c.conrelid <> c.confrelid \
            and not (child.attnum = any (c.conkey) and parent.attnum = any (c.confkey)) \
            and c.confrelid <> 'accounts'::regclass \
          order by 1",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(
        unscoped,
        Vec::<String>::new(),
        "references that could join two owners' rows"
    );

    // Even the table owner (no RLS) cannot store a message of owner B in
    // a conversation of owner A.
    let a = seed_owner(&admin, "a@example.com", "Shop A").await;
    let b = seed_owner(&admin, "b@example.com", "Shop B").await;
    let channel: Uuid = sqlx::query_scalar(
        "insert into channels (id, owner_id, platform, meta_id, display_name, token_enc) \
         values (gen_random_uuid(), $1, 'messenger', '100200300', 'A page', '\\x00') returning id",
    )
    .bind(a)
    .fetch_one(&admin)
    .await
    .unwrap();
    let customer: Uuid = sqlx::query_scalar(
        "insert into customers (id, owner_id, channel_id, sender_hash, sender_enc) \
         values (gen_random_uuid(), $1, $2, '\\x01', '\\x02') returning id",
    )
    .bind(a)
    .bind(channel)
    .fetch_one(&admin)
    .await
    .unwrap();
    let conversation: Uuid = sqlx::query_scalar(
        "insert into conversations (id, owner_id, channel_id, customer_id) \
         values (gen_random_uuid(), $1, $2, $3) returning id",
    )
    .bind(a)
    .bind(channel)
    .bind(customer)
    .fetch_one(&admin)
    .await
    .unwrap();
    let foreign_message = sqlx::query(
        "insert into messages (id, owner_id, conversation_id, direction, author, kind) \
         values (gen_random_uuid(), $1, $2, 'in', 'customer', 'text')",
    )
    .bind(b)
    .bind(conversation)
    .execute(&admin)
    .await;
    let code = foreign_message
        .expect_err("a message of B in A's conversation")
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("23503"), "a foreign key violation");
    let foreign_conversation = sqlx::query(
        "insert into conversations (id, owner_id, channel_id, customer_id) values (gen_random_uuid(), $1, $2, $3)",
    )
    .bind(b)
    .bind(channel)
    .bind(customer)
    .execute(&admin)
    .await;
    assert!(
        foreign_conversation.is_err(),
        "B cannot hold a conversation on A's channel"
    );
    let own_message = sqlx::query(
        "insert into messages (id, owner_id, conversation_id, direction, author, kind) \
         values (gen_random_uuid(), $1, $2, 'in', 'customer', 'text')",
    )
    .bind(a)
    .bind(conversation)
    .execute(&admin)
    .await;
    assert!(own_message.is_ok(), "A's own message is stored: {own_message:?}");
}
