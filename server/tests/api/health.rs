//! Liveness and readiness.

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_while_the_process_lives() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_ready_then_fails_when_the_database_goes_down() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");

    // Take the database away: refuse new connections and end the open ones.
    let admin = sqlx::PgPool::connect(&crate::helpers::server_url()).await.unwrap();
    sqlx::query(&format!("alter database {} allow_connections false", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(&app.db.name)
        .execute(&admin)
        .await
        .unwrap();

    let down = app.get("/readyz").await;
    assert_eq!(down.status(), 503);
    assert_eq!(down.text().await.unwrap(), "database unreachable");
    // The process itself is still alive.
    assert_eq!(app.get("/healthz").await.status(), 200);

    sqlx::query(&format!("alter database {} allow_connections true", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    app.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_when_a_migration_is_missing() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    sqlx::query("delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)")
        .execute(&admin)
        .await
        .unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), "database migrations are not current");
}

async fn backend_pid(conn: &mut sqlx::PgConnection) -> i32 {
    use sqlx::{Executor as _, Row as _};
    conn.fetch_one("select pg_backend_pid()")
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_keeps_clean_connections_and_closes_one_left_inside_a_transaction() {
    use sqlx::{Executor as _, Row as _};
    let db = crate::helpers::TestDb::new().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 1).await.unwrap();
    let first = {
        let mut conn = pool.acquire().await.unwrap();
        // Ordinary statements, prepared and not: the connection stays clean.
        sqlx::query("select $1::int").bind(1).execute(&mut *conn).await.unwrap();
        backend_pid(&mut conn).await
    };
    let second = {
        let mut conn = pool.acquire().await.unwrap();
        backend_pid(&mut conn).await
    };
    assert_eq!(first, second, "a clean connection is reused, not closed");
    {
        let mut conn = pool.acquire().await.unwrap();
        // A transaction opened behind sqlx's back and never ended.
        conn.execute("begin").await.unwrap();
    }
    let mut conn = pool.acquire().await.unwrap();
    let third = backend_pid(&mut conn).await;
    assert_ne!(third, second, "the connection left in a transaction was closed");
    let clean: bool = conn
        .fetch_one("select now() = statement_timestamp()")
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(clean, "the next user starts outside any transaction");
}
