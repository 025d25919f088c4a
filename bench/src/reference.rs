//! The ceiling for webhook ingest: a minimal receiver written with axum and
//! sqlx and nothing of ours. It checks the signature in constant time, reads
//! the message id, and inserts the body in one autocommit statement before
//! answering 200, so a 200 means the same thing as ours: durably stored.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

struct Receiver {
    pool: PgPool,
    secret: Vec<u8>,
}

pub const TABLE: &str = "reference_inbound";

/// Serves `POST /webhooks/meta` on `addr` until the process is killed.
pub async fn serve(addr: SocketAddr, database_url: &str, secret: &str, max_connections: u32) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect(database_url)
        .await?;
    sqlx::query(&format!(
        "create table if not exists {TABLE} (id bigserial primary key, mid text not null unique, body bytea not null, \
         received_at timestamptz not null default now())"
    ))
    .execute(&pool)
    .await?;
    let receiver = Arc::new(Receiver {
        pool,
        secret: secret.as_bytes().to_vec(),
    });
    let app = Router::new()
        .route("/webhooks/meta", post(receive))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("reference receiver listening on {addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(given) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .and_then(|v| hex::decode(v).ok())
    else {
        return StatusCode::UNAUTHORIZED;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&receiver.secret).expect("HMAC takes any key length");
    mac.update(&body);
    if mac.verify_slice(&given).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(mid) = value
        .pointer("/entry/0/messaging/0/message/mid")
        .and_then(serde_json::Value::as_str)
    else {
        return StatusCode::BAD_REQUEST;
    };
    let stored = sqlx::query(&format!(
        "insert into {TABLE} (mid, body) values ($1, $2) on conflict (mid) do nothing"
    ))
    .bind(mid)
    .bind(body.as_ref())
    .execute(&receiver.pool)
    .await;
    match stored {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
