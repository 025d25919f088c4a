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
