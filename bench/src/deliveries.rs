//! Signed Messenger webhook deliveries, shaped like Meta's.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// One delivery: its body and its `X-Hub-Signature-256` value.
#[derive(Debug, Clone)]
pub struct Signed {
    pub body: Vec<u8>,
    pub signature: String,
}

/// `sha256=<hex HMAC of body>` under the app secret, as Meta signs.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A customer message to a Page, with Meta's envelope.
pub fn messenger(secret: &str, page_id: &str, sender: &str, mid: &str, text: &str) -> Signed {
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{
            "id": page_id,
            "time": now_ms,
            "messaging": [{
                "sender": { "id": sender },
                "recipient": { "id": page_id },
                "timestamp": now_ms,
                "message": { "mid": mid, "text": text }
            }]
        }]
    }))
    .expect("a JSON value serializes");
    let signature = sign(secret, &body);
    Signed { body, signature }
}

/// One customer message inside a batched delivery.
#[derive(Debug, Clone)]
pub struct Event {
    pub page_id: String,
    pub sender: String,
    pub mid: String,
    pub text: String,
    pub time_ms: i64,
}

/// Several customer messages in one delivery, one entry each, as Meta
/// batches them. The body depends only on `events`, so the same events
/// make the same bytes: a retry of a delivery is the same signed delivery.
pub fn messenger_batch(secret: &str, events: &[Event]) -> Signed {
    let entries: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.page_id,
                "time": e.time_ms,
                "messaging": [{
                    "sender": { "id": e.sender },
                    "recipient": { "id": e.page_id },
                    "timestamp": e.time_ms,
                    "message": { "mid": e.mid, "text": e.text }
                }]
            })
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "object": "page", "entry": entries }))
        .expect("a JSON value serializes");
    let signature = sign(secret, &body);
    Signed { body, signature }
}

/// Realistic customer questions of several lengths (English, Banglish,
/// Bangla), for the ingest run: bodies are stored, not answered.
pub const INGEST_TEXTS: [&str; 4] = [
    "Hi, is the red tangail saree still available? What is the price with delivery to Mirpur?",
    "apu ei three piece ta ki ache? dam koto? Dhanmondi te delivery koto din lagbe, cash on delivery hobe?",
    "ভাই, নীল জামদানি শাড়িটার দাম কত? ঢাকার বাইরে ডেলিভারি চার্জ কত হবে?",
    "price?",
];

/// Sends one signed delivery; true on a 2xx.
pub async fn post(client: &reqwest::Client, url: &str, delivery: &Signed) -> bool {
    client
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", &delivery.signature)
        .body(delivery.body.clone())
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_what_the_server_checks() {
        let delivery = messenger("secret", "1000", "s1", "m_1", "hello");
        assert!(
            bikriagent::meta::signature::verify_hub_signature(b"secret", &delivery.body, Some(&delivery.signature))
                .is_ok()
        );
        assert!(
            bikriagent::meta::signature::verify_hub_signature(b"other", &delivery.body, Some(&delivery.signature))
                .is_err()
        );
    }
}
