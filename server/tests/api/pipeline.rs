//! The live pipeline against a real database and the fake Meta: delivery →
//! resolution → conversation → risk → reply or review → gates → Graph API,
//! orders with stock, and the crash and error paths of sending.
//!
//! Most tests drive the library and the real job queue directly (a `Shop`
//! with no HTTP server, so no background worker races the test); one test
//! goes end to end over HTTP.

use std::sync::Arc;
use std::time::Duration;

use bikriagent::audit::RequestMeta;
use bikriagent::catalog::store::{self, ProductInput};
use bikriagent::channels::{self, Candidate, Pending};
use bikriagent::clock::OffsetClock;
use bikriagent::jobs;
use bikriagent::meta::graph::Platform;
use bikriagent::meta::signature::hub_signature;
use bikriagent::meta::webhook;
use bikriagent::pipeline::grounding::OrderRequest;
use bikriagent::processing::Pipeline;
use bikriagent::tenancy::{OwnerId, begin_tenant_tx};
use bikriagent_server::config::Config;
use bikriagent_server::fake_meta::FakeMeta;
use bikriagent_server::startup;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestDb, app_with_fake_meta, test_env};

pub(crate) const PAGE_ID: &str = "1000000001";
const PAGE_TOKEN: &str = "EAAGfakePageToken1000000001";

/// Connects the fake Meta's first Page to `owner` through the real connect
/// path (sealed token, webhook subscription at the fake).
pub(crate) async fn connect_page(
    pool: &PgPool,
    keys: &bikriagent::crypto::DataKeys,
    fake: &FakeMeta,
    owner: OwnerId,
    display_name: &str,
) {
    connect_messenger(pool, keys, fake, owner, PAGE_ID, PAGE_TOKEN, display_name).await;
}

/// Connects one of the fake Meta's Pages (`page_id` with its Page token) to
/// `owner` through the real connect path.
pub(crate) async fn connect_messenger(
    pool: &PgPool,
    keys: &bikriagent::crypto::DataKeys,
    fake: &FakeMeta,
    owner: OwnerId,
    page_id: &str,
    token: &str,
    display_name: &str,
) {
    let graph =
        bikriagent::meta::graph::GraphClient::new(&fake.graph_url(), "1234567890", "test-app-secret".to_owned().into())
            .unwrap();
    let pending = channels::save_pending(
        pool,
        keys,
        owner,
        &Pending {
            meta_user_id: fake.user_id(),
            candidates: vec![Candidate {
                platform: Platform::Messenger,
                meta_id: page_id.into(),
                parent_id: None,
                display_name: display_name.into(),
                token: token.into(),
            }],
        },
    )
    .await
    .unwrap();
    channels::connect(
        pool,
        keys,
        &graph,
        owner,
        pending,
        &[format!("messenger:{page_id}")],
        &RequestMeta::default(),
    )
    .await
    .unwrap();
}

/// One owner with a catalog and a connected Messenger Page, and the
/// pipeline of the real binary, with no server and no background worker.
pub(crate) struct Shop {
    pub db: TestDb,
    pub pool: PgPool,
    pub pipeline: Pipeline,
    registry: jobs::Registry,
    pub fake: FakeMeta,
    pub owner: OwnerId,
    pub clock: OffsetClock,
    pub saree: Uuid,
}

pub(crate) async fn shop() -> Shop {
    shop_with(|_| {}).await
}

pub(crate) async fn shop_with(adjust: impl FnOnce(&mut Vec<(String, String)>)) -> Shop {
    let fake = FakeMeta::spawn(0, "1234567890", "test-app-secret").await.unwrap();
    let db = TestDb::new().await;
    let mut env = test_env(&db.url);
    env.push(("META_GRAPH_URL".into(), fake.graph_url()));
    adjust(&mut env);
    let config = Arc::new(Config::from_vars(env).unwrap());
    let pool = bikriagent::db::connect_app_pool(&db.url, 10).await.unwrap();
    let clock = OffsetClock::default();
    let pipeline = startup::pipeline(&pool, &config, Arc::new(clock.clone()));
    let registry = startup::job_registry(&pool, &config, &pipeline);
    let admin = db.admin_pool().await;
    let owner: Uuid = sqlx::query_scalar(
        "insert into accounts (email, name, password_hash, status, email_verified_at, payment_verified_at) \
         values ('shop@example.com', 'Rahima', 'x', 'active', now(), now()) returning id",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    sqlx::query("insert into business_profiles (owner_id, name) values ($1, 'Rahima Fashion')")
        .bind(owner)
        .execute(&admin)
        .await
        .unwrap();
    let owner = OwnerId::from_verified(owner);
    let saree = store::create_product(
        &pool,
        owner,
        &ProductInput {
            sku: "SAREE-1".into(),
            name: "Red Cotton Saree".into(),
            name_bn: "লাল সুতি শাড়ি".into(),
            price: "1250".into(),
            stock: "3".into(),
            active: true,
            ..ProductInput::default()
        },
    )
    .await
    .unwrap();
    store::add_delivery_area(&pool, owner, "Dhaka city", "60", "1", "2")
        .await
        .unwrap();
    store::add_payment_method(
        &pool,
        owner,
        "bkash",
        "Send money to 01711000000 and write your order number",
    )
    .await
    .unwrap();
    connect_page(&pool, &pipeline.keys, &fake, owner, "Rahima Fashion House").await;
    Shop {
        db,
        pool,
        pipeline,
        registry,
        fake,
        owner,
        clock,
        saree,
    }
}

pub(crate) fn messenger(mid: &str, sender: &str, text: &str, timestamp_ms: i64) -> Vec<u8> {
    messenger_to(PAGE_ID, mid, sender, text, timestamp_ms)
}

/// A customer's text message to `page_id`, as Meta delivers it.
pub(crate) fn messenger_to(page_id: &str, mid: &str, sender: &str, text: &str, timestamp_ms: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{
            "id": page_id,
            "time": timestamp_ms,
            "messaging": [{
                "sender": { "id": sender },
                "recipient": { "id": page_id },
                "timestamp": timestamp_ms,
                "message": { "mid": mid, "text": text }
            }]
        }]
    }))
    .unwrap()
}

impl Shop {
    pub(crate) fn registry(&self) -> jobs::Registry {
        self.registry.clone()
    }

    pub(crate) fn now(&self) -> time::OffsetDateTime {
        use bikriagent::clock::Clock as _;
        self.clock.now()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        use bikriagent::clock::Clock as _;
        (self.clock.now().unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// What the webhook handler does with a verified body.
    pub(crate) async fn deliver(&self, body: &[u8]) {
        let delivery = webhook::parse(body).unwrap();
        bikriagent::ingest::store_delivery(
            &self.pool,
            &self.pipeline.keys,
            &delivery,
            body,
            "1234567890",
            // As the test apps (helpers::test_env): no pacing.
            bikriagent::ingest::ChannelPace {
                per_second: 100_000.0,
                burst: 100_000,
            },
        )
        .await
        .unwrap();
    }

    /// A customer message, a few seconds after the previous one.
    pub(crate) async fn say(&self, sender: &str, text: &str) {
        self.clock.advance(time::Duration::seconds(5));
        let body = messenger(&format!("m_{}", Uuid::new_v4()), sender, text, self.now_ms());
        self.deliver(&body).await;
        self.drain().await;
    }

    /// Runs every runnable job, as a worker would, until the queue is empty.
    pub(crate) async fn drain(&self) {
        for _ in 0..200 {
            let Some(job) = jobs::claim(&self.pool, Duration::from_secs(60)).await.unwrap() else {
                return;
            };
            self.registry.run_one(&self.pool, job).await.unwrap();
        }
        panic!("the queue did not drain");
    }

    /// Makes every queued job due now (skips retry backoff).
    pub(crate) async fn due_now(&self) {
        sqlx::query("update jobs set run_at = now() where state = 'queued'")
            .execute(&self.db.admin_pool().await)
            .await
            .unwrap();
    }

    pub(crate) fn sent_texts(&self) -> Vec<String> {
        self.fake
            .sent()
            .into_iter()
            .map(|m| {
                m.body
                    .pointer("/message/text")
                    .and_then(|t| t.as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    pub(crate) async fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql)
            .fetch_one(&self.db.admin_pool().await)
            .await
            .unwrap()
    }

    pub(crate) async fn reviews(&self) -> Vec<(String, String)> {
        sqlx::query_as("select reason::text, detail from review_items order by created_at")
            .fetch_all(&self.db.admin_pool().await)
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_question_is_answered_from_the_catalog_through_the_graph_api() {
    let shop = shop().await;
    shop.say("5550001", "red cotton saree dam koto?").await;
    let sent = shop.fake.sent();
    assert_eq!(sent.len(), 1, "one reply");
    assert_eq!(sent[0].token, PAGE_TOKEN, "sent with the Page's decrypted token");
    assert_eq!(
        sent[0].body.pointer("/recipient/id").and_then(|v| v.as_str()),
        Some("5550001")
    );
    let text = &shop.sent_texts()[0];
    assert!(text.contains("1,250"), "the price from the catalog: {text}");
    assert!(text.contains("BikriAgent"), "the first reply discloses the bot: {text}");
    let (direction_out, bodies_plain): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where direction = 'out'), \
                count(*) filter (where position(convert_to('saree', 'UTF8') in coalesce(body_enc, '')) > 0) from messages",
    )
    .fetch_one(&shop.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(direction_out, 1, "the reply is recorded");
    assert_eq!(bodies_plain, 0, "bodies are encrypted at rest");
    let leftover: i64 = shop
        .scalar("select count(*) from inbound_messages where body_enc is not null")
        .await;
    assert_eq!(
        leftover, 0,
        "the global copy of the text is cleared once the owner has it"
    );
    // A second question in the same conversation: no second disclosure.
    shop.say("5550001", "delivery charge koto?").await;
    let texts = shop.sent_texts();
    assert_eq!(texts.len(), 2);
    assert!(texts[1].contains("60"), "delivery charge from the data: {}", texts[1]);
    assert!(!texts[1].contains("BikriAgent"), "disclosed once: {}", texts[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnected_channel_keeps_its_conversations_and_does_not_disclose_again() {
    let shop = shop().await;
    shop.say("5550021", "saree dam koto?").await;
    let first = shop.sent_texts();
    assert_eq!(first.len(), 1);
    assert!(
        first[0].contains("BikriAgent"),
        "the first reply discloses the bot: {}",
        first[0]
    );
    let channel: Uuid = shop.scalar("select id from channels").await;
    channels::disconnect(
        &shop.pool,
        &shop.pipeline.keys,
        None,
        shop.owner,
        channel,
        None,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    connect_page(
        &shop.pool,
        &shop.pipeline.keys,
        &shop.fake,
        shop.owner,
        "Rahima Fashion House",
    )
    .await;
    assert_eq!(
        shop.scalar::<Uuid>("select id from channels where status = 'connected'")
            .await,
        channel,
        "the same channel comes back"
    );

    shop.say("5550021", "delivery charge koto?").await;
    let texts = shop.sent_texts();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(!texts[1].contains("BikriAgent"), "not disclosed again: {}", texts[1]);
    assert_eq!(shop.scalar::<i64>("select count(*) from customers").await, 1);
    assert_eq!(
        shop.scalar::<i64>("select count(*) from conversations").await,
        1,
        "one customer, one conversation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_retries_and_job_retries_make_one_message_and_one_reply() {
    let shop = shop().await;
    let body = messenger("m_same", "5550002", "saree ache?", shop.now_ms());
    for _ in 0..3 {
        shop.deliver(&body).await;
    }
    shop.drain().await;
    // A worker dying after each step would run the steps again: still one.
    let message: Uuid = shop.scalar("select id from messages where direction = 'in'").await;
    shop.pipeline.decide(shop.owner, message).await.unwrap();
    let send: Uuid = shop.scalar("select id from outbound_sends").await;
    shop.pipeline.send(shop.owner, send).await.unwrap();
    let inbound: Uuid = shop.scalar("select id from inbound_messages").await;
    shop.pipeline.process_inbound(inbound).await.unwrap();
    shop.drain().await;
    assert_eq!(
        shop.scalar::<i64>("select count(*) from messages where direction = 'in'")
            .await,
        1
    );
    assert_eq!(shop.scalar::<i64>("select count(*) from outbound_sends").await, 1);
    assert_eq!(shop.fake.sent().len(), 1, "one reply at Meta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_channels_get_no_reply_and_reach_no_owner() {
    let shop = shop().await;
    let other_page = serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{ "id": "1999999999", "time": 1, "messaging": [{
            "sender": { "id": "5550003" }, "recipient": { "id": "1999999999" }, "timestamp": shop.now_ms(),
            "message": { "mid": "m_unmatched", "text": "saree dam koto?" } }] }]
    }))
    .unwrap();
    shop.deliver(&other_page).await;
    shop.drain().await;
    assert_eq!(
        shop.scalar::<String>("select state from inbound_messages").await,
        "unmatched"
    );
    assert!(shop.fake.sent().is_empty(), "no reply");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from messages").await,
        0,
        "nothing reached an owner"
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from security_events where kind = 'unmatched_channel'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_during_a_suspension_get_no_reply_and_wait_for_the_owner_in_review() {
    let shop = shop().await;
    let admin = shop.db.admin_pool().await;
    sqlx::query("update accounts set status = 'suspended' where id = $1")
        .bind(shop.owner.as_uuid())
        .execute(&admin)
        .await
        .unwrap();
    shop.say("5550003", "saree dam koto?").await;
    shop.say("5550013", "amar taka ferot chai, product venge ashche").await;
    assert!(shop.fake.sent().is_empty(), "a suspended owner's channel sends nothing");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from inbound_messages where state = 'processed'")
            .await,
        2,
        "both messages reached the owner's inbox"
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from messages where direction = 'in'")
            .await,
        2
    );
    // The suspension is lifted: both are waiting in the review queue.
    sqlx::query("update accounts set status = 'active' where id = $1")
        .bind(shop.owner.as_uuid())
        .execute(&admin)
        .await
        .unwrap();
    let open: i64 = shop
        .scalar("select count(distinct conversation_id) from review_items where state = 'open'")
        .await;
    assert_eq!(
        open,
        2,
        "each conversation waits for the owner: {:?}",
        shop.reviews().await
    );
    assert!(
        shop.fake.sent().is_empty(),
        "still nothing sent behind the owner's back"
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from security_events where kind = 'unmatched_channel'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risky_messages_go_to_review_with_only_the_owners_holding_message() {
    let shop = shop().await;
    sqlx::query(
        "insert into reply_rules (owner_id, holding_message) values ($1, 'Thank you, the owner will answer you shortly.')",
    )
    .bind(shop.owner.as_uuid())
    .execute(&shop.db.admin_pool().await)
    .await
    .unwrap();
    shop.say(
        "5550004",
        "I paid with bkash but the order is not confirmed, taka kete niyeche",
    )
    .await;
    shop.say("5550005", "আমার বাচ্চার এলার্জি আছে, এই শাড়ি কি নিরাপদ?").await;
    let reasons: Vec<String> = shop.reviews().await.into_iter().map(|(reason, _)| reason).collect();
    assert_eq!(reasons, ["payment_issue", "allergy"]);
    let texts = shop.sent_texts();
    assert_eq!(texts.len(), 2, "one holding message each");
    for text in texts {
        assert!(text.contains("the owner will answer you shortly"), "{text}");
        assert!(!text.contains("1,250"), "no answer about the subject: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_the_catalog_cannot_answer_go_to_review_not_to_a_guess() {
    let shop = shop().await;
    shop.say("5550006", "Do you have a branch in Chittagong with parking?")
        .await;
    assert_eq!(shop.reviews().await[0].0, "engine");
    // Not left in silence: a holding reply, with no guess in it.
    let sent = shop.sent_texts();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].ends_with("Thanks for your message. Someone from Rahima Fashion will answer you here soon."),
        "{sent:?}"
    );
}

/// The review page shows the oldest cases a page at a time and says how
/// many are open in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_shows_the_oldest_page_and_counts_the_rest() {
    let shop = shop().await;
    let extra = 3;
    let total = bikriagent::conversations::REVIEW_PAGE as usize + extra;
    for n in 0..total {
        shop.say(
            &format!("55590{n:03}"),
            "Do you have a branch in Chittagong with parking?",
        )
        .await;
    }
    let (rows, open) = bikriagent::conversations::review_queue(&shop.pool, &shop.pipeline.keys, shop.owner)
        .await
        .unwrap();
    assert_eq!(open, total as i64);
    assert_eq!(rows.len(), bikriagent::conversations::REVIEW_PAGE as usize);
    assert!(rows.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
    assert!(
        rows.iter()
            .all(|row| row.message.as_deref() == Some("Do you have a branch in Chittagong with parking?"))
    );
}

/// Decides one customer message and returns its send, without sending.
async fn decided(shop: &Shop, sender: &str, text: &str) -> Uuid {
    let body = messenger(&format!("m_{}", Uuid::new_v4()), sender, text, shop.now_ms());
    shop.deliver(&body).await;
    let inbound: Uuid = sqlx::query_scalar("select id from inbound_messages order by received_at desc limit 1")
        .fetch_one(&shop.db.admin_pool().await)
        .await
        .unwrap();
    let message = shop.pipeline.process_inbound(inbound).await.unwrap().unwrap();
    shop.pipeline.decide(shop.owner, message).await.unwrap();
    sqlx::query_scalar("select id from outbound_sends where reply_to = $1")
        .bind(message)
        .fetch_one(&shop.db.admin_pool().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_gate_blocks_with_its_reason_and_sends_the_draft_to_review() {
    use bikriagent::pipeline::gates::Gate;
    use bikriagent::sending::SendOutcome;
    let shop = shop_with(|env| env.push(("BIKRI_DAILY_CHANNEL_LIMIT".into(), "2".into()))).await;
    let admin = shop.db.admin_pool().await;
    let exec = |sql: &'static str| {
        let admin = admin.clone();
        let owner = shop.owner.as_uuid();
        async move {
            sqlx::query(sql).bind(owner).execute(&admin).await.unwrap();
        }
    };
    let cases: Vec<(Gate, &str, &str)> = vec![
        (
            Gate::KillSwitch,
            "update platform_settings set auto_send_enabled = false where $1 is not null",
            "update platform_settings set auto_send_enabled = true where $1 is not null",
        ),
        (
            Gate::OwnerNotActive,
            "update accounts set email_verified_at = null where id = $1",
            "update accounts set email_verified_at = now() where id = $1",
        ),
        (
            Gate::ChannelPaused,
            "update channels set status = 'paused' where owner_id = $1",
            "update channels set status = 'connected' where owner_id = $1",
        ),
        (
            Gate::HumanTakeover,
            "update conversations set mode = 'human' where owner_id = $1",
            "update conversations set mode = 'agent' where owner_id = $1",
        ),
    ];
    for (i, (gate, block, unblock)) in cases.into_iter().enumerate() {
        let send = decided(&shop, &format!("66600{i}"), "saree dam koto?").await;
        exec(block).await;
        let outcome = shop.pipeline.send(shop.owner, send).await.unwrap();
        exec(unblock).await;
        assert_eq!(outcome, SendOutcome::Blocked(gate), "{gate:?}");
        let blocked_by: Option<String> = sqlx::query_scalar("select blocked_by from outbound_sends where id = $1")
            .bind(send)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert_eq!(blocked_by.as_deref(), Some(gate.as_str()));
    }
    assert!(shop.fake.sent().is_empty(), "no gate let anything through");
    let gate_reviews = shop.reviews().await.into_iter().filter(|(r, _)| r == "gate").count();
    assert_eq!(gate_reviews, 4, "each blocked draft waits for the owner");

    // Meta's 24-hour window: the customer wrote 25 hours ago (a late delivery).
    let old = shop.now_ms() - 25 * 3600 * 1000;
    let body = messenger("m_old", "6669999", "saree dam koto?", old);
    shop.deliver(&body).await;
    shop.drain().await;
    assert_eq!(
        shop.scalar::<Option<String>>("select blocked_by from outbound_sends order by created_at desc limit 1")
            .await
            .as_deref(),
        Some("outside_24h_window")
    );

    // The channel's daily limit (2): two replies go out, the third is blocked.
    for i in 0..3 {
        shop.say(&format!("77700{i}"), "saree dam koto?").await;
    }
    assert_eq!(shop.fake.sent().len(), 2);
    assert_eq!(
        shop.scalar::<Option<String>>("select blocked_by from outbound_sends order by created_at desc limit 1")
            .await
            .as_deref(),
        Some("channel_daily_limit")
    );
    // A new shop day resets it.
    shop.clock.advance(time::Duration::hours(24));
    shop.say("7770009", "saree dam koto?").await;
    assert_eq!(shop.fake.sent().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_sending_and_recording_never_sends_twice() {
    let shop = shop().await;
    let send = decided(&shop, "5550007", "saree dam koto?").await;
    // The worker claimed the send, called Meta, and died before recording.
    sqlx::query("update outbound_sends set state = 'sending' where id = $1")
        .bind(send)
        .execute(&shop.db.admin_pool().await)
        .await
        .unwrap();
    shop.drain().await;
    assert!(shop.fake.sent().is_empty(), "not sent again");
    assert_eq!(
        shop.scalar::<String>("select state::text from outbound_sends").await,
        "uncertain"
    );
    assert_eq!(shop.reviews().await[0].0, "send_uncertain", "the owner is told");
    // A crash before the call (still `decided`) sends once when retried.
    let second = decided(&shop, "5550008", "saree dam koto?").await;
    shop.pipeline.send(shop.owner, second).await.unwrap();
    shop.pipeline.send(shop.owner, second).await.unwrap();
    shop.drain().await;
    assert_eq!(shop.fake.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_5xx_is_retried_and_4xx_goes_to_review() {
    let shop = shop().await;
    shop.fake.fail_next("/messages", 500, 2, None, 2);
    shop.say("5550009", "saree dam koto?").await;
    assert!(shop.fake.sent().is_empty(), "the first attempts failed");
    assert_eq!(
        shop.scalar::<String>("select state::text from outbound_sends").await,
        "decided"
    );
    for _ in 0..2 {
        shop.due_now().await;
        shop.drain().await;
    }
    assert_eq!(shop.fake.sent().len(), 1, "sent on the retry, once");
    assert_eq!(
        shop.scalar::<String>("select state::text from outbound_sends").await,
        "sent"
    );

    shop.fake.fail_next("/messages", 400, 100, None, 1);
    shop.say("5550010", "saree dam koto?").await;
    shop.due_now().await;
    shop.drain().await;
    assert_eq!(shop.fake.sent().len(), 1, "a 4xx is not retried");
    assert_eq!(
        shop.scalar::<String>("select state::text from outbound_sends order by created_at desc limit 1")
            .await,
        "failed"
    );
    let reviews = shop.reviews().await;
    assert_eq!(reviews[0].0, "send_failed");
    assert!(reviews[0].1.contains("code 100"), "{}", reviews[0].1);
    assert_eq!(
        shop.scalar::<String>("select status::text from channels").await,
        "connected"
    );

    // An invalid token marks the channel for reconnection and tells the owner.
    shop.fake.fail_next("/messages", 400, 190, Some(463), 1);
    shop.say("5550011", "saree dam koto?").await;
    assert_eq!(
        shop.scalar::<String>("select status::text from channels").await,
        "token_invalid"
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from mail_outbox where kind = 'channel_token_invalid'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_captured_in_banglish_with_stock_reserved() {
    let shop = shop().await;
    for message in [
        "red cotton saree order korbo",
        "2 ta",
        "amar nam Karim Uddin",
        "01712345678",
        "House 12, Road 5, Dhanmondi, Dhaka city",
    ] {
        shop.say("5550012", message).await;
    }
    let summary = shop.sent_texts().last().cloned().unwrap_or_default();
    assert!(summary.contains("2,560"), "total = 2 × 1250 + 60 delivery: {summary}");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from orders").await,
        0,
        "nothing placed before the yes"
    );
    shop.say("5550012", "ha confirm").await;
    let (status, total, stock): (String, i64, Option<i32>) =
        sqlx::query_as("select o.status, o.total_minor, p.stock from orders o cross join products p")
            .fetch_one(&shop.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(status, "pending_owner_confirmation");
    assert_eq!(total, 256_000);
    assert_eq!(stock, Some(1), "two of three reserved");
    let order = bikriagent::orders::list(&shop.pool, &shop.pipeline.keys, shop.owner, None)
        .await
        .unwrap();
    assert_eq!(order[0].customer_name, "Karim Uddin");
    let confirmation = shop.sent_texts().last().cloned().unwrap_or_default();
    assert!(confirmation.contains(&order[0].number.to_string()), "{confirmation}");
    // Cancelling gives the stock back.
    bikriagent::orders::set_status(
        &shop.pool,
        shop.owner,
        order[0].id,
        "cancelled",
        shop.owner.as_uuid(),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    assert_eq!(shop.scalar::<Option<i32>>("select stock from products").await, Some(3));
}

/// Issue 18: approving a held order summary handed the conversation to the
/// owner, so the customer's "ha confirm" created nothing. Approving one
/// reply is not taking the conversation over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_held_summary_keeps_the_agent_and_the_yes_places_the_order() {
    let shop = shop().await;
    // A word only the read-back summary has: the summary is held for the owner.
    store::save_rules(&shop.pool, shop.owner, "friendly", "Subtotal", "", "", "", "")
        .await
        .unwrap();
    for message in [
        "red cotton saree order korbo",
        "2 ta",
        "amar nam Karim Uddin",
        "01712345678",
        "House 12, Road 5, Dhanmondi, Dhaka city",
    ] {
        shop.say("5550015", message).await;
    }
    let reviews = shop.reviews().await;
    assert_eq!(reviews.last().map(|r| r.0.as_str()), Some("engine"), "{reviews:?}");
    let review: Uuid = shop.scalar("select id from review_items where state = 'open'").await;
    shop.pipeline
        .approve_review(
            shop.owner,
            review,
            "Red Cotton Saree x 2, total 2560 taka with delivery. Reply ha to confirm.",
            shop.owner.as_uuid(),
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    shop.drain().await;
    assert!(shop.sent_texts().last().unwrap().contains("Reply ha to confirm"));
    assert_eq!(
        shop.scalar::<String>("select mode::text from conversations").await,
        "agent",
        "approving is not taking over"
    );
    shop.say("5550015", "ha confirm").await;
    let total: i64 = shop.scalar("select total_minor from orders").await;
    assert_eq!(total, 256_000);
    let confirmation = shop.sent_texts().last().cloned().unwrap_or_default();
    assert!(confirmation.contains("2,560"), "{confirmation}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_captured_in_bangla() {
    let shop = shop().await;
    for message in [
        "লাল সুতি শাড়ি অর্ডার করতে চাই",
        "১ টা",
        "আমার নাম করিম",
        "০১৭১২৩৪৫৬৭৮",
        "বাড়ি ১২, রোড ৫, ধানমন্ডি, Dhaka city",
        "হ্যাঁ",
    ] {
        shop.say("5550013", message).await;
    }
    let (status, total): (String, i64) = sqlx::query_as("select status, total_minor from orders")
        .fetch_one(&shop.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!((status.as_str(), total), ("pending_owner_confirmation", 131_000));
    assert_eq!(shop.scalar::<Option<i32>>("select stock from products").await, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_take_stock_below_zero() {
    let shop = shop().await;
    let request = OrderRequest {
        product_id: shop.saree,
        variant_id: None,
        quantity: 1,
        unit_price_minor: 125_000,
        delivery_charge_minor: 6_000,
        total_minor: 131_000,
        customer_name: "A".into(),
        phone: "01712345678".into(),
        address: "Dhaka".into(),
        delivery_area_id: None,
        extra: Vec::new(),
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (pool, keys, owner, request) = (
            shop.pool.clone(),
            shop.pipeline.keys.clone(),
            shop.owner,
            request.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tx = begin_tenant_tx(&pool, owner).await.unwrap();
            let placed =
                bikriagent::orders::place(&mut tx, &keys, owner, None, &request, time::OffsetDateTime::now_utc())
                    .await
                    .unwrap();
            bikriagent::db::commit(tx).await.unwrap();
            placed.is_ok()
        }));
    }
    let mut placed = 0;
    for task in tasks {
        placed += usize::from(task.await.unwrap());
    }
    assert_eq!(placed, 3, "exactly the stock");
    assert_eq!(shop.scalar::<Option<i32>>("select stock from products").await, Some(0));
    let numbers: Vec<i64> = sqlx::query_scalar("select number from orders order by number")
        .fetch_all(&shop.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(numbers, [1001, 1002, 1003], "numbers are per owner and without gaps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_of_two_products_takes_both_stocks_or_neither() {
    let shop = shop().await;
    let kurti = store::create_product(
        &shop.pool,
        shop.owner,
        &ProductInput {
            sku: "KURTI-1".into(),
            name: "Block Print Kurti".into(),
            price: "850".into(),
            stock: "1".into(),
            active: true,
            ..ProductInput::default()
        },
    )
    .await
    .unwrap();
    let request = |kurtis: i32| OrderRequest {
        product_id: shop.saree,
        variant_id: None,
        quantity: 2,
        unit_price_minor: 125_000,
        delivery_charge_minor: 6_000,
        total_minor: 250_000 + 85_000 * i64::from(kurtis) + 6_000,
        customer_name: "A".into(),
        phone: "01712345678".into(),
        address: "Dhaka".into(),
        delivery_area_id: None,
        extra: vec![bikriagent::pipeline::grounding::RequestItem {
            product_id: kurti,
            variant_id: None,
            quantity: kurtis,
            unit_price_minor: 85_000,
        }],
    };
    let place = |request: OrderRequest| {
        let (pool, keys, owner) = (shop.pool.clone(), shop.pipeline.keys.clone(), shop.owner);
        async move {
            let mut tx = begin_tenant_tx(&pool, owner).await.unwrap();
            let placed =
                bikriagent::orders::place(&mut tx, &keys, owner, None, &request, time::OffsetDateTime::now_utc())
                    .await
                    .unwrap();
            bikriagent::db::commit(tx).await.unwrap();
            placed
        }
    };
    // Two kurtis when one is left: nothing is taken, not even the sarees.
    assert!(matches!(
        place(request(2)).await,
        Err(bikriagent::orders::OrderRefusal::OutOfStock { .. })
    ));
    assert_eq!(
        shop.scalar::<Option<i32>>("select stock from products where sku = 'SAREE-1'")
            .await,
        Some(3)
    );
    assert!(place(request(1)).await.is_ok());
    let stocks: Vec<(String, Option<i32>)> = sqlx::query_as("select sku, stock from products order by sku")
        .fetch_all(&shop.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(
        stocks,
        [("KURTI-1".to_owned(), Some(0)), ("SAREE-1".to_owned(), Some(1))]
    );
    let (items, total): (i64, i64) =
        sqlx::query_as("select (select count(*) from order_items), (select total_minor from orders)")
            .fetch_one(&shop.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!((items, total), (2, 250_000 + 85_000 + 6_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_reply_goes_out_once_and_takes_the_conversation_over() {
    let shop = shop().await;
    shop.say("5550014", "saree dam koto?").await;
    let conversation: Uuid = shop.scalar("select id from conversations").await;
    for _ in 0..2 {
        shop.pipeline
            .owner_reply(
                shop.owner,
                conversation,
                "Yes, we have it in red.",
                "form-key-1",
                shop.owner.as_uuid(),
                &RequestMeta::default(),
            )
            .await
            .unwrap();
    }
    shop.drain().await;
    let texts = shop.sent_texts();
    assert_eq!(
        texts.iter().filter(|t| t.as_str() == "Yes, we have it in red.").count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        shop.scalar::<String>("select mode::text from conversations").await,
        "human"
    );
    shop.say("5550014", "delivery charge koto?").await;
    assert_eq!(shop.fake.sent().len(), 2, "the agent stays quiet after a takeover");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_delivery_is_answered_end_to_end_over_http() {
    let (app, fake) = app_with_fake_meta().await;
    let client = crate::helpers::verified_owner(&app, "e2e@example.com").await;
    let owner: Uuid = sqlx::query_scalar("select id from accounts where email = 'e2e@example.com'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let config = Config::from_vars(app.env.clone()).unwrap();
    let keys = startup::data_keys(&config);
    let owner = OwnerId::from_verified(owner);
    store::create_product(
        &app.pool,
        owner,
        &ProductInput {
            sku: "PANJABI-1".into(),
            name: "White Panjabi".into(),
            price: "2200".into(),
            stock: "5".into(),
            active: true,
            ..ProductInput::default()
        },
    )
    .await
    .unwrap();
    connect_page(&app.pool, &keys, &fake, owner, "Page").await;
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let body = messenger("m_http", "5551234", "white panjabi price?", now_ms);
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url("/webhooks/meta"))
            .header("x-hub-signature-256", hub_signature(b"test-app-secret", &body))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = fake.sent();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sent.len(), 1);
    let text = sent[0]
        .body
        .pointer("/message/text")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    assert!(text.contains("2,200"), "{text}");
    // The owner sees it in the inbox; another owner cannot open it.
    let inbox = client
        .get(app.url("/inbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("Customer ••1234"), "{inbox}");
    let conversation: Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let page = client
        .get(app.url(&format!("/inbox/{conversation}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("white panjabi price?") && page.contains("2,200"),
        "{page}"
    );
    let other = crate::helpers::verified_owner(&app, "other@example.com").await;
    let response = other
        .get(app.url(&format!("/inbox/{conversation}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = response.text().await.unwrap();
    assert!(!body.contains("panjabi"), "nothing of the other owner's conversation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_owner_chats_in_the_sandbox_over_http() {
    let app = crate::helpers::spawn_app().await;
    let config = Config::from_vars(app.env.clone()).unwrap();
    let services = startup::services(&app.pool, &config, Arc::new(app.clock.clone()));
    let owner = services.accounts.seed_demo_owner().await.unwrap().unwrap();
    bikriagent::catalog::demo::seed(&app.pool, owner).await.unwrap();
    assert!(
        services.accounts.seed_demo_owner().await.unwrap().is_none(),
        "seeded once"
    );
    let login = app.page("/login").await;
    let token = crate::helpers::csrf_token(&login).unwrap();
    let response = app
        .client
        .post(app.url("/api/login"))
        .form(&[
            ("email", bikriagent::auth::accounts::DEMO_EMAIL),
            ("password", bikriagent::auth::accounts::DEMO_PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::helpers::location(&response), "/dashboard");
    let response = app
        .submit(
            "/sandbox",
            "/api/sandbox_say",
            &[("text", "lal tangail saree dam koto? ache?")],
        )
        .await;
    assert_eq!(crate::helpers::location(&response), "/sandbox");
    let mut page = String::new();
    for _ in 0..100 {
        page = app.page("/sandbox").await;
        if page.contains("1,850") {
            break;
        }
        assert!(
            page.contains("http-equiv=\"refresh\""),
            "the page refreshes itself while waiting: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        page.contains("1,850"),
        "the agent answered from the demo catalog: {page}"
    );
    assert!(!page.contains("<script"), "no script: {page}");
    // The playground answers without storing anything.
    let before: i64 = sqlx::query_scalar("select count(*) from messages")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let report = app
        .page("/playground?message=I+want+my+money+back%2C+refund+please")
        .await;
    assert!(report.contains("review queue") && report.contains("refund"), "{report}");
    let after: i64 = sqlx::query_scalar("select count(*) from messages")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(before, after, "the playground stores nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_llm_only_reads_messages_the_engine_did_not_understand_and_never_writes_to_the_customer() {
    use axum::{Json, Router, routing::post};
    let answers = Arc::new(std::sync::Mutex::new(vec![
        // Its reading of a message the engine did not understand.
        r#"{"intent": "price", "products": ["SAREE-1"], "risk": []}"#.to_owned(),
        // Prose with an invented fact instead of a reading.
        "We are open on Fridays from 3pm, parking is free, and our branch sells it for 999 taka.".to_owned(),
    ]));
    let served = answers.clone();
    let llm = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let served = served.clone();
            async move {
                let content = served.lock().unwrap().remove(0);
                Json(json!({ "choices": [{ "message": { "role": "assistant", "content": content } }] }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, llm).await.unwrap() });
    let shop = shop_with(move |env| {
        env.push(("LLM_BASE_URL".into(), base));
        env.push(("LLM_MODEL".into(), "test-model".into()));
    })
    .await;
    shop.say("5550020", "saree dam koto?").await;
    assert!(shop.sent_texts()[0].contains("1,250"), "the engine answers what it can");
    assert_eq!(answers.lock().unwrap().len(), 2, "without asking the LLM");

    // Understood, but the data has no opening hours: the owner answers; the
    // LLM is not asked to fill the gap.
    shop.say("5550020", "Do you open on Fridays, and is there parking nearby?")
        .await;
    assert_eq!(answers.lock().unwrap().len(), 2, "the LLM is not asked");
    assert_eq!(shop.reviews().await.last().map(|r| r.0.as_str()), Some("engine"));

    // Not understood: the LLM's reading becomes the engine's templated answer.
    shop.say("5550020", "amar boner biyer gift er jonno oi jinish ta koto porbe?")
        .await;
    assert_eq!(answers.lock().unwrap().len(), 1, "the LLM read it");
    let last = shop.sent_texts().last().cloned().unwrap_or_default();
    assert!(last.contains("Red Cotton Saree er dam ৳1,250"), "{last}");

    // Prose is not a reading: nothing of it reaches the customer.
    shop.say("5550020", "oi design er onno kono version dekhate parben apu?")
        .await;
    assert!(answers.lock().unwrap().is_empty(), "the LLM was asked");
    for text in shop.sent_texts() {
        assert!(
            !text.contains("parking") && !text.contains("999") && !text.contains("Friday"),
            "{text}"
        );
    }
    assert_eq!(shop.reviews().await.last().map(|r| r.0.as_str()), Some("engine"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_approval_is_refused_and_the_case_stays_open() {
    let shop = shop().await;
    shop.say("5550004", "I paid with bkash but the order is not confirmed")
        .await;
    let review: Uuid = shop.scalar("select id from review_items").await;
    let sent_before = shop.sent_texts().len();
    for text in ["", "   ", "\n\t "] {
        let refused = shop
            .pipeline
            .approve_review(shop.owner, review, text, shop.owner.as_uuid(), &RequestMeta::default())
            .await;
        assert!(
            matches!(&refused, Err(bikriagent::conversations::PipelineError::Invalid(m)) if m.contains("Write a reply")),
            "{text:?}: {refused:?}"
        );
    }
    shop.drain().await;
    let open: bool = shop.scalar("select state = 'open' from review_items").await;
    assert!(open, "the case is still open");
    assert_eq!(shop.sent_texts().len(), sent_before, "nothing was sent");
    shop.pipeline
        .approve_review(
            shop.owner,
            review,
            "We are checking your payment now.",
            shop.owner.as_uuid(),
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    shop.drain().await;
    assert!(shop.sent_texts().iter().any(|t| t.contains("checking your payment")));
}

/// What one answered message costs the database, counted by
/// pg_stat_statements for this test's database alone (scripts/test.sh
/// starts PostgreSQL with it preloaded).
struct StatementCount {
    server: PgPool,
    database: String,
}

impl StatementCount {
    async fn start(shop: &Shop) -> Self {
        let server = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&crate::helpers::server_url())
            .await
            .unwrap();
        sqlx::query("create extension if not exists pg_stat_statements")
            .execute(&server)
            .await
            .expect(
                "pg_stat_statements is not loaded: start PostgreSQL with \
                 shared_preload_libraries=pg_stat_statements (scripts/test.sh does)",
            );
        let count = Self {
            server,
            database: shop.db.name.clone(),
        };
        count.reset().await;
        count
    }

    async fn reset(&self) {
        sqlx::query("select pg_stat_statements_reset(0, (select oid from pg_database where datname = $1), 0)")
            .bind(&self.database)
            .execute(&self.server)
            .await
            .unwrap();
    }

    /// Statements run in the database since the last reset, with the text of each.
    async fn statements(&self) -> Vec<(i64, String)> {
        sqlx::query_as(
            "select calls, query from pg_stat_statements \
              where dbid = (select oid from pg_database where datname = $1) order by calls desc, query",
        )
        .bind(&self.database)
        .fetch_all(&self.server)
        .await
        .unwrap()
    }
}

/// The statements one answered message costs, as the bench counts them
/// (`bench/`, section 2). The issue's target is 20; this pins where the
/// pipeline is, so a change that adds statements fails here.
const STATEMENTS_PER_ANSWERED_MESSAGE: i64 = 46;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_message_costs_one_job_and_a_pinned_number_of_statements() {
    let shop = shop().await;
    // The first message of a conversation discloses the bot and creates the
    // customer; the second is the common case.
    shop.say("5550091", "red cotton saree dam koto?").await;
    let jobs_before: i64 = shop.scalar("select count(*) from jobs").await;
    let count = StatementCount::start(&shop).await;
    shop.clock.advance(time::Duration::seconds(5));
    let body = messenger("m_counted", "5550091", "delivery charge koto?", shop.now_ms());
    shop.deliver(&body).await;
    // One claim, as a worker would; `drain` would add a claim that finds nothing.
    let job = jobs::claim(&shop.pool, Duration::from_secs(60)).await.unwrap().unwrap();
    shop.registry.run_one(&shop.pool, job).await.unwrap();
    let statements = count.statements().await;
    let jobs_after: i64 = shop.scalar("select count(*) from jobs").await;
    assert_eq!(shop.sent_texts().len(), 2, "the second question is answered");
    assert_eq!(jobs_after - jobs_before, 1, "one job for the message");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from jobs where state <> 'done'")
            .await,
        0,
        "and it finished"
    );
    // Per connection, not per message: a new connection's setup, and sqlx
    // looking up a type's oid once per connection (`pg_catalog` queries and
    // `$1::regtype::oid`), which a fresh pool connection may or may not need.
    let per_connection =
        |query: &str| query.starts_with("SET ") || query.contains("pg_catalog.") || query.contains("::regtype");
    let per_message: Vec<&(i64, String)> = statements.iter().filter(|(_, query)| !per_connection(query)).collect();
    let total: i64 = per_message.iter().map(|(calls, _)| calls).sum();
    let listing: String = per_message
        .iter()
        .map(|(calls, query)| format!("{calls:>3}  {}\n", query.chars().take(140).collect::<String>()))
        .collect();
    assert!(
        total <= STATEMENTS_PER_ANSWERED_MESSAGE,
        "{total} statements for one answered message:\n{listing}"
    );
    assert!(total > 10, "the count sees the pipeline's statements:\n{listing}");
}
