//! Meta webhook ingest: signatures, durable idempotent storage, inspection,
//! 503 when the database is down, and channel resolution.

use std::time::Duration;

use bikriagent::meta::signature::hub_signature;

use crate::helpers::{TestApp, spawn_app};

const SECRET: &[u8] = b"test-app-secret";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../shared/meta-samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("sample")
}

async fn deliver(app: &TestApp, body: &[u8], signature: Option<String>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    request.send().await.unwrap()
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signature_table_over_http() {
    let app = spawn_app().await;
    let body = sample("messenger_text.json");
    let good = hub_signature(SECRET, &body);
    let mut flipped = body.clone();
    flipped[12] ^= 1;
    let cases: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        (
            "wrong secret",
            body.clone(),
            Some(hub_signature(b"other-secret", &body)),
        ),
        ("flipped byte", flipped, Some(good.clone())),
        ("missing header", body.clone(), None),
        ("wrong prefix", body.clone(), Some(good.replace("sha256=", "sha1="))),
    ];
    for (what, body, signature) in cases {
        assert_eq!(deliver(&app, &body, signature).await.status(), 401, "{what}");
    }
    assert_eq!(count(&app, "inbound_messages").await, 0, "nothing stored");
    assert_eq!(count(&app, "webhook_inspection").await, 0);
    let ok = deliver(&app, &body, Some(good)).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "EVENT_RECEIVED");
    assert_eq!(count(&app, "inbound_messages").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_store_one_message_and_bodies_are_encrypted() {
    let app = spawn_app().await;
    let body = sample("messenger_batch_two_messages.json");
    for _ in 0..3 {
        assert_eq!(
            deliver(&app, &body, Some(hub_signature(SECRET, &body))).await.status(),
            200
        );
    }
    assert_eq!(
        count(&app, "inbound_messages").await,
        3,
        "three messages, stored once each"
    );
    let jobs: i64 = sqlx::query_scalar("select count(*) from jobs where kind = 'process_inbound'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(jobs, 3, "one processing job per message");
    let channels: Vec<String> = sqlx::query_scalar("select distinct channel_meta_id from inbound_messages")
        .fetch_all(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(channels.len(), 2, "each message tied to its own Page");
    let text = String::from_utf8(sample("messenger_text.json")).unwrap();
    let start = text.find("\"text\":\"").unwrap() + 8;
    let message_text = &text[start..start + text[start..].find('"').unwrap()];
    let one = sample("messenger_text.json");
    deliver(&app, &one, Some(hub_signature(SECRET, &one))).await;
    let raw: Vec<Option<Vec<u8>>> = sqlx::query_scalar("select body_enc from inbound_messages")
        .fetch_all(&app.db.admin_pool().await)
        .await
        .unwrap();
    for sealed in raw.into_iter().flatten() {
        assert!(
            !String::from_utf8_lossy(&sealed).contains(message_text),
            "message text encrypted at rest"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_receipts_reactions_are_ignored_unknown_and_malformed_are_kept() {
    let app = spawn_app().await;
    for name in [
        "messenger_echo.json",
        "messenger_delivery_read.json",
        "messenger_reaction.json",
        "whatsapp_status.json",
    ] {
        let body = sample(name);
        assert_eq!(
            deliver(&app, &body, Some(hub_signature(SECRET, &body))).await.status(),
            200,
            "{name}"
        );
    }
    assert_eq!(count(&app, "inbound_messages").await, 0);
    assert_eq!(count(&app, "webhook_inspection").await, 0);
    let unknown = sample("unknown_object.json");
    assert_eq!(
        deliver(&app, &unknown, Some(hub_signature(SECRET, &unknown)))
            .await
            .status(),
        200
    );
    assert_eq!(count(&app, "webhook_inspection").await, 1, "unknown shape kept");
    let malformed = b"{\"object\": \"page\", \"entry\": [".to_vec();
    assert_eq!(
        deliver(&app, &malformed, Some(hub_signature(SECRET, &malformed)))
            .await
            .status(),
        400
    );
    assert_eq!(count(&app, "webhook_inspection").await, 2, "malformed kept");
    for name in [
        "instagram_text.json",
        "whatsapp_text.json",
        "messenger_attachment.json",
        "messenger_postback.json",
    ] {
        let body = sample(name);
        assert_eq!(
            deliver(&app, &body, Some(hub_signature(SECRET, &body))).await.status(),
            200,
            "{name}"
        );
    }
    let platforms: Vec<String> =
        sqlx::query_scalar("select platform::text from inbound_messages order by platform::text")
            .fetch_all(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(platforms, vec!["instagram", "messenger", "messenger", "whatsapp"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_so_meta_retries() {
    let app = spawn_app().await;
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
    let body = sample("messenger_text.json");
    let response = deliver(&app, &body, Some(hub_signature(SECRET, &body))).await;
    assert_eq!(response.status(), 503);
    sqlx::query(&format!("alter database {} allow_connections true", app.db.name))
        .execute(&admin)
        .await
        .unwrap();
    // Meta's retry then lands.
    let mut status = 0;
    for _ in 0..50 {
        status = deliver(&app, &body, Some(hub_signature(SECRET, &body)))
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
    assert_eq!(count(&app, "inbound_messages").await, 1);
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_resolve_to_exactly_one_owner_or_stop() {
    let app = spawn_app().await;
    let admin = app.db.admin_pool().await;
    // The Page of messenger_text.json.
    let text = String::from_utf8(sample("messenger_text.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let page_id = json["entry"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| json["entry"][0]["id"].to_string());
    let owner: uuid::Uuid = sqlx::query_scalar(
        "insert into accounts (email, name, password_hash, status) values ('o@example.com', 'O', 'x', 'active') returning id",
    )
    .fetch_one(&admin)
    .await
    .unwrap();

    let wait_for_state = |expected: &'static str| {
        let admin = admin.clone();
        async move {
            let mut state = String::new();
            for _ in 0..100 {
                state = sqlx::query_scalar("select state from inbound_messages order by received_at desc limit 1")
                    .fetch_one(&admin)
                    .await
                    .unwrap_or_default();
                if state == expected {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            state
        }
    };

    // No channel: stops, with a security event.
    deliver(&app, text.as_bytes(), Some(hub_signature(SECRET, text.as_bytes()))).await;
    assert_eq!(wait_for_state("unmatched").await, "unmatched");
    let events: i64 = sqlx::query_scalar("select count(*) from security_events where kind = 'unmatched_channel'")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(events, 1);

    // Connected channel of an active owner: matched to that owner.
    sqlx::query(
        "insert into channels (id, owner_id, platform, meta_id, display_name, token_enc) \
         values (gen_random_uuid(), $1, 'messenger', $2, 'Page', '\\x00')",
    )
    .bind(owner)
    .bind(&page_id)
    .execute(&admin)
    .await
    .unwrap();
    let second = text.replace("\"mid\":\"", "\"mid\":\"second-");
    deliver(&app, second.as_bytes(), Some(hub_signature(SECRET, second.as_bytes()))).await;
    // Matched, then recorded in the owner's conversation.
    assert_eq!(wait_for_state("processed").await, "processed");
    let resolved: Option<uuid::Uuid> =
        sqlx::query_scalar("select owner_id_resolved from inbound_messages where state = 'processed'")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(resolved, Some(owner));

    // Suspended owner: the message still reaches the owner's inbox (the
    // send gate holds any reply for review), so nothing is lost.
    sqlx::query("update accounts set status = 'suspended' where id = $1")
        .bind(owner)
        .execute(&admin)
        .await
        .unwrap();
    let third = text.replace("\"mid\":\"", "\"mid\":\"third-");
    deliver(&app, third.as_bytes(), Some(hub_signature(SECRET, third.as_bytes()))).await;
    let mut processed = 0;
    for _ in 0..200 {
        processed = sqlx::query_scalar::<_, i64>("select count(*) from inbound_messages where state = 'processed'")
            .fetch_one(&admin)
            .await
            .unwrap();
        if processed == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(processed, 2, "the suspended owner's message was recorded too");
}

/// Many deliveries at once go through the group-commit queue: each message
/// is stored once with exactly one processing job, even when Meta's retries
/// of it land in the same batch, and every caller learns what was new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_share_batches_and_each_message_is_stored_once() {
    use bikriagent::ingest::IngestQueue;
    use bikriagent::meta::webhook;

    let db = crate::helpers::TestDb::new().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 8).await.unwrap();
    let keys = bikriagent::crypto::DataKeys::new(1, &[7u8; 32], &[]);
    let queue = IngestQueue::start(&pool, 4, bikriagent::ingest::ChannelPace::default());
    let body = |n: usize| {
        serde_json::to_vec(&serde_json::json!({
            "object": "page",
            "entry": [{ "id": "1000000001", "time": 1, "messaging": [{
                "sender": { "id": format!("psid-{n}") },
                "recipient": { "id": "1000000001" },
                "timestamp": 1_700_000_000_000i64,
                "message": { "mid": format!("m_batch_{n}"), "text": format!("question {n}") }
            }]}]
        }))
        .unwrap()
    };
    // 100 messages, each delivered three times, all at once.
    let mut stores = Vec::new();
    for _copy in 0..3 {
        for n in 0..100 {
            let (queue, pool, keys, raw) = (queue.clone(), pool.clone(), keys.clone(), body(n));
            stores.push(tokio::spawn(async move {
                let delivery = webhook::parse(&raw).unwrap();
                queue.store(&pool, &keys, &delivery, &raw, "1234567890").await.unwrap()
            }));
        }
    }
    let (mut stored, mut duplicates) = (0, 0);
    for store in stores {
        let outcome = store.await.unwrap();
        stored += outcome.stored;
        duplicates += outcome.duplicates;
    }
    assert_eq!((stored, duplicates), (100, 200));
    let admin = db.admin_pool().await;
    let (messages, distinct, jobs): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from inbound_messages), \
                (select count(distinct provider_message_id) from inbound_messages), \
                (select count(*) from jobs j join inbound_messages m on j.payload->>'id' = m.id::text \
                  where j.kind = 'process_inbound' and j.dedupe_key = 'inbound:' || m.id)",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!((messages, distinct, jobs), (100, 100, 100));
    let id: uuid::Uuid = sqlx::query_scalar("select id from inbound_messages where provider_message_id = 'm_batch_42'")
        .fetch_one(&admin)
        .await
        .unwrap();
    let text = bikriagent::ingest::inbound_text(&pool, &keys, id).await.unwrap();
    assert_eq!(text.as_deref(), Some("question 42"));
}

/// Meta retrying while earlier attempts are still in flight: many tasks
/// post overlapping deliveries (several messages each, of several Pages, in
/// shuffled order) at once, round after round. Concurrent batches hold the
/// same message keys and the same lanes' pacing rows, so a lock-order
/// mistake shows up as a deadlock; every store must succeed, every message
/// must be stored exactly once, with one job, and no lane is ever given
/// more than its burst within 1 / per_second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_retries_in_random_order_never_deadlock_and_store_each_message_once() {
    use bikriagent::ingest::IngestQueue;
    use bikriagent::meta::webhook;
    use rand::seq::SliceRandom as _;
    use rand::{Rng as _, SeedableRng as _};

    const ROUNDS: usize = 60;
    const MESSAGES: usize = 24;
    const PAGES: usize = 4;
    let db = crate::helpers::TestDb::new().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 12).await.unwrap();
    let keys = bikriagent::crypto::DataKeys::new(1, &[7u8; 32], &[]);
    let pace = bikriagent::ingest::ChannelPace::default();
    let queue = IngestQueue::start(&pool, 6, pace);
    let page = |n: usize| (1_000_000_001 + n % PAGES).to_string();
    let seed: u64 = rand::random();
    eprintln!("shuffle seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // One entry per message, so a delivery names its Pages in random order.
    let delivery = |round: usize, messages: &[usize]| {
        let entry: Vec<_> = messages
            .iter()
            .map(|n| {
                serde_json::json!({ "id": page(*n), "time": 1, "messaging": [{
                    "sender": { "id": format!("psid-{n}") },
                    "recipient": { "id": page(*n) },
                    "timestamp": 1_700_000_000_000i64,
                    "message": { "mid": format!("m_race_{round}_{n}"), "text": format!("round {round} question {n}") }
                }]})
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({ "object": "page", "entry": entry })).unwrap()
    };
    for round in 0..ROUNDS {
        // Each message goes out in three deliveries; each delivery carries
        // one to four messages in a random order.
        let mut copies: Vec<usize> = (0..MESSAGES).flat_map(|n| [n, n, n]).collect();
        copies.shuffle(&mut rng);
        let mut bodies = Vec::new();
        while !copies.is_empty() {
            let take = rng.random_range(1..=4).min(copies.len());
            let mut chunk: Vec<usize> = copies.drain(..take).collect();
            chunk.dedup();
            bodies.push(delivery(round, &chunk));
        }
        let stores: Vec<_> = bodies
            .into_iter()
            .map(|raw| {
                let (queue, pool, keys) = (queue.clone(), pool.clone(), keys.clone());
                tokio::spawn(async move {
                    let parsed = webhook::parse(&raw).unwrap();
                    queue.store(&pool, &keys, &parsed, &raw, "1234567890").await
                })
            })
            .collect();
        let mut stored = 0;
        for store in stores {
            let outcome = store
                .await
                .unwrap()
                .unwrap_or_else(|error| panic!("round {round}: {error}"));
            stored += outcome.stored;
        }
        assert_eq!(stored, MESSAGES, "round {round}: each message is new exactly once");
    }
    let admin = db.admin_pool().await;
    let (messages, distinct, jobs): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from inbound_messages), \
                (select count(distinct provider_message_id) from inbound_messages), \
                (select count(*) from jobs where kind = 'process_inbound')",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    let expected = i64::try_from(ROUNDS * MESSAGES).unwrap();
    assert_eq!((messages, distinct, jobs), (expected, expected, expected));
    // Pacing holds under the race: in each lane, any `burst` + 1 jobs in a
    // row are spread over 1 / per_second at least.
    let burst = usize::try_from(pace.burst).unwrap();
    for n in 0..PAGES {
        let lane = lane_schedule(&admin, &format!("messenger:{}", page(n))).await;
        assert_eq!(lane.len(), ROUNDS * MESSAGES / PAGES);
        for w in lane.windows(burst + 1) {
            assert!(
                w[burst].run_at - w[0].run_at > 1.0 / pace.per_second - 0.001,
                "lane of Page {}: {w:?}",
                page(n)
            );
        }
    }
}

/// A channel with a backlog past its burst is paced; another channel's
/// messages stay due at once. Nothing is dropped either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_channel_is_paced_and_other_channels_stay_at_the_front() {
    use bikriagent::ingest::{ChannelPace, IngestQueue};
    use bikriagent::meta::webhook;

    let db = crate::helpers::TestDb::new().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 8).await.unwrap();
    let keys = bikriagent::crypto::DataKeys::new(1, &[7u8; 32], &[]);
    // Slow, so the burst (which comes back at the pace in real time) stays
    // spent while a busy machine runs the test.
    let pace = ChannelPace {
        per_second: 1.0,
        burst: 5,
    };
    let queue = IngestQueue::start(&pool, 2, pace);
    let store = |page: &str, n: usize| {
        let raw = serde_json::to_vec(&serde_json::json!({
            "object": "page",
            "entry": [{ "id": page, "time": 1, "messaging": [{
                "sender": { "id": format!("psid-{page}-{n}") },
                "recipient": { "id": page },
                "timestamp": 1_700_000_000_000i64,
                "message": { "mid": format!("m_{page}_{n}"), "text": "hello" }
            }]}]
        }))
        .unwrap();
        let (queue, pool, keys) = (queue.clone(), pool.clone(), keys.clone());
        async move {
            let delivery = webhook::parse(&raw).unwrap();
            queue
                .store(&pool, &keys, &delivery, &raw, "1234567890")
                .await
                .unwrap()
                .stored
        }
    };
    // The flood arrives one delivery at a time (each its own batch), faster
    // than the pace, so each batch moves the lane's clock the last one left.
    let mut stored = 0;
    for n in 0..25 {
        stored += store("1000000001", n).await;
    }
    for n in 0..3 {
        stored += store("1000000002", n).await;
    }
    assert_eq!(stored, 28);
    let admin = db.admin_pool().await;
    let flooded = lane_schedule(&admin, "messenger:1000000001").await;
    let quiet = lane_schedule(&admin, "messenger:1000000002").await;
    assert_eq!((flooded.len(), quiet.len()), (25, 3));
    // The burst runs at once; the 20 after it are 1 s apart, the last 20 s
    // after the first message arrived.
    assert!(flooded[..5].iter().all(|j| j.wait < 0.001), "{flooded:?}");
    assert!(
        (flooded[24].run_at - flooded[0].created_at - 20.0).abs() < 0.001,
        "{flooded:?}"
    );
    assert!(
        flooded[5..]
            .windows(2)
            .all(|w| (w[1].run_at - w[0].run_at - 1.0).abs() < 0.001),
        "{flooded:?}"
    );
    assert!(
        quiet.iter().all(|j| j.wait < 0.001),
        "another channel is not paced: {quiet:?}"
    );
}

/// When a lane's process_inbound job was queued and is due (epoch seconds),
/// and how long it waits from its queueing.
#[derive(Debug, sqlx::FromRow)]
struct Scheduled {
    created_at: f64,
    run_at: f64,
    wait: f64,
}

/// A lane's jobs in the order they are due.
async fn lane_schedule(admin: &sqlx::PgPool, lane: &str) -> Vec<Scheduled> {
    sqlx::query_as(
        "select extract(epoch from created_at)::float8 as created_at, extract(epoch from run_at)::float8 as run_at, \
                extract(epoch from run_at - created_at)::float8 as wait \
           from jobs where kind = 'process_inbound' and lane = $1 order by run_at",
    )
    .bind(lane)
    .fetch_all(admin)
    .await
    .unwrap()
}

/// The database's wall clock now (seconds since the epoch), to compare with
/// the jobs' `run_at` on the same clock.
async fn database_clock(admin: &sqlx::PgPool) -> f64 {
    sqlx::query_scalar("select extract(epoch from clock_timestamp())::float8")
        .fetch_one(admin)
        .await
        .unwrap()
}

/// Pacing holds across concurrent batches: a flood of one Page arriving
/// through several writers at once is spaced 1 / per_second past its burst
/// (each batch moves the lane's clock under its lock, so none takes a slot
/// another took), while another Page's first message, arriving in the
/// middle of the flood, runs at once. A lane quiet for long enough has its
/// burst back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_lane_is_spaced_across_concurrent_batches_and_another_lane_runs_at_once() {
    use bikriagent::ingest::{ChannelPace, IngestQueue};
    use bikriagent::meta::webhook;

    let db = crate::helpers::TestDb::new().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 8).await.unwrap();
    let keys = bikriagent::crypto::DataKeys::new(1, &[7u8; 32], &[]);
    // Slow, so the burst (which comes back at the pace in real time) stays
    // spent while a busy machine runs the test.
    let pace = ChannelPace {
        per_second: 1.0,
        burst: 3,
    };
    let queue = IngestQueue::start(&pool, 4, pace);
    let store = |page: &str, mid: String| {
        let raw = serde_json::to_vec(&serde_json::json!({
            "object": "page",
            "entry": [{ "id": page, "time": 1, "messaging": [{
                "sender": { "id": format!("psid-{mid}") },
                "recipient": { "id": page },
                "timestamp": 1_700_000_000_000i64,
                "message": { "mid": mid, "text": "hello" }
            }]}]
        }))
        .unwrap();
        let (queue, pool, keys) = (queue.clone(), pool.clone(), keys.clone());
        tokio::spawn(async move {
            let delivery = webhook::parse(&raw).unwrap();
            queue
                .store(&pool, &keys, &delivery, &raw, "1234567890")
                .await
                .unwrap()
                .stored
        })
    };
    let mut stores = Vec::new();
    for n in 0..40 {
        if n == 20 {
            stores.push(store("1000000002", "m_quiet_0".to_owned()));
        }
        stores.push(store("1000000001", format!("m_flood_{n}")));
    }
    let mut stored = 0;
    for task in stores {
        stored += task.await.unwrap();
    }
    assert_eq!(stored, 41);
    let admin = db.admin_pool().await;
    // "At once" means runnable by the time storing returned. Not `wait == 0`:
    // concurrent batches take the lane's lock in an order other than the one
    // they started in, so a burst job can be given the start time of a batch
    // that began a moment later (already past when the job is written).
    let stored_by = database_clock(&admin).await;
    let flooded = lane_schedule(&admin, "messenger:1000000001").await;
    assert_eq!(flooded.len(), 40);
    assert!(
        flooded[..3].iter().all(|j| j.run_at <= stored_by),
        "the burst runs at once: {stored_by} {flooded:?}"
    );
    assert!(
        flooded[3..]
            .windows(2)
            .all(|w| (w[1].run_at - w[0].run_at - 1.0).abs() < 0.001),
        "past the burst, one slot every second and none taken twice: {flooded:?}"
    );
    assert!(
        flooded[39].wait > 30.0,
        "the flood is spread over about 37 s: {flooded:?}"
    );
    let quiet = lane_schedule(&admin, "messenger:1000000002").await;
    assert_eq!(quiet.len(), 1);
    assert!(
        quiet[0].run_at <= stored_by,
        "another Page's message runs at once: {stored_by} {quiet:?}"
    );

    // As if the flooded Page had been quiet for an hour: its burst is back.
    sqlx::query(
        "update lane_pacing set next_free_at = next_free_at - interval '1 hour' where lane = 'messenger:1000000001'",
    )
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("delete from jobs").execute(&admin).await.unwrap();
    for n in 0..4 {
        assert_eq!(store("1000000001", format!("m_later_{n}")).await.unwrap(), 1);
    }
    let stored_by = database_clock(&admin).await;
    let later = lane_schedule(&admin, "messenger:1000000001").await;
    assert!(
        later[..3].iter().all(|j| j.run_at <= stored_by),
        "{stored_by} {later:?}"
    );
    assert!(
        (later[3].run_at - later[0].created_at - 1.0).abs() < 0.001,
        "the fourth in a row is paced again: {later:?}"
    );
}
