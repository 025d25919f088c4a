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

    let mut tx = app.pool.begin().await.unwrap();
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
