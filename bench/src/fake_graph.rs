//! A fake Graph API that answers what the server calls during the benchmark
//! (webhook subscription, the Send API) and notes when each reply arrived,
//! by recipient. It runs inside the bench process, so its clock is the load
//! generator's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Default)]
struct Recorded {
    /// Recipient id → arrival of each reply to them.
    replies: HashMap<String, Vec<Instant>>,
    /// Page id → replies sent from it.
    per_page: HashMap<String, u64>,
    total: u64,
}

/// The running fake; clone to share.
#[derive(Clone)]
pub struct FakeGraph {
    pub addr: SocketAddr,
    recorded: Arc<Mutex<Recorded>>,
}

impl FakeGraph {
    pub async fn spawn() -> anyhow::Result<Self> {
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let app = Router::new()
            .route("/v21.0/{id}/subscribed_apps", post(subscribed).delete(subscribed))
            .route("/v21.0/{id}/messages", post(messages))
            .with_state(recorded.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, recorded })
    }

    pub fn graph_url(&self) -> String {
        format!("http://{}/v21.0", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Arrival of each reply to `recipient`.
    pub fn replies_to(&self, recipient: &str) -> Vec<Instant> {
        self.lock().replies.get(recipient).cloned().unwrap_or_default()
    }

    pub fn sent_by_page(&self, page: &str) -> u64 {
        self.lock().per_page.get(page).copied().unwrap_or_default()
    }
}

async fn subscribed() -> Json<Value> {
    Json(json!({ "success": true }))
}

async fn messages(State(recorded): State<Arc<Mutex<Recorded>>>, Path(page): Path<String>, body: Bytes) -> Json<Value> {
    let arrived = Instant::now();
    let recipient = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/recipient/id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let mut recorded = recorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    recorded.total += 1;
    *recorded.per_page.entry(page).or_default() += 1;
    let n = recorded.total;
    recorded.replies.entry(recipient.clone()).or_default().push(arrived);
    Json(json!({ "recipient_id": recipient, "message_id": format!("m_bench_{n}") }))
}
