//! Customers' contact details are never in clear in a full dump; customer
//! data deletion (by the owner, by staff on a verified request, by Meta's
//! callback) leaves no trace of them; retention purges old bodies and
//! closed cases.

use std::time::Duration;

use bikriagent::audit::RequestMeta;
use bikriagent::channels::{self, Candidate, Pending};
use bikriagent::deletion::{self, Retention};
use bikriagent::meta::graph::Platform;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PUBLIC_URL, csrf_token, location, spawn_app, verified_owner};
use crate::pipeline::{Shop, messenger, shop};

/// The whole database as `pg_dump` writes it (plain SQL).
async fn dump(shop: &Shop) -> String {
    let bindir = std::env::var("BIKRI_TEST_PG_BINDIR").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned());
    let url = shop.db.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(format!("{bindir}/pg_dump"))
            .arg("--data-only")
            .arg("--dbname")
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .expect("pg_dump runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// How a bytea value appears in a dump.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fake Meta's WhatsApp number (`2000000001`), connected to the shop
/// through the real connect path.
const WHATSAPP_NUMBER_ID: &str = "2000000001";

async fn connect_whatsapp(shop: &Shop) {
    let graph = bikriagent::meta::graph::GraphClient::new(
        &shop.fake.graph_url(),
        "1234567890",
        "test-app-secret".to_owned().into(),
    )
    .unwrap();
    let pending = channels::save_pending(
        &shop.pool,
        &shop.pipeline.keys,
        shop.owner,
        &Pending {
            meta_user_id: shop.fake.user_id(),
            candidates: vec![Candidate {
                platform: Platform::Whatsapp,
                meta_id: WHATSAPP_NUMBER_ID.into(),
                parent_id: Some("3000000001".into()),
                display_name: "Rahima Fashion House".into(),
                token: shop.fake.issue_user_token(),
            }],
        },
    )
    .await
    .unwrap();
    channels::connect(
        &shop.pool,
        &shop.pipeline.keys,
        &graph,
        shop.owner,
        pending,
        &[format!("whatsapp:{WHATSAPP_NUMBER_ID}")],
        &RequestMeta::default(),
    )
    .await
    .unwrap();
}

/// A WhatsApp customer's text message, as the Cloud API delivers it (the
/// customer's profile name comes with it).
async fn whatsapp_say(shop: &Shop, from: &str, name: &str, text: &str) {
    shop.clock.advance(time::Duration::seconds(5));
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "3000000001", "changes": [{
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "8801711000000", "phone_number_id": WHATSAPP_NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.T{}", Uuid::new_v4().simple()),
                          "timestamp": (shop.now_ms() / 1000).to_string(), "type": "text", "text": {"body": text}}]
        }
    }]}]});
    shop.deliver(body.to_string().as_bytes()).await;
    shop.drain().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_holds_no_customer_phone_name_or_email_in_clear() {
    let shop = shop().await;
    connect_whatsapp(&shop).await;
    // A WhatsApp customer: their id is their phone number, their profile
    // name comes with every message; they order, giving a phone number,
    // and mention an email address.
    for text in [
        "red cotton saree order korbo",
        "1 ta",
        "amar nam Zubair Hossain",
        "01819999888",
        "House 9, Road 2, Dhaka city",
        "ha",
        "receipt zubair.h@example.net e pathaben",
    ] {
        whatsapp_say(&shop, "8801712345678", "Zubair Hossain", text).await;
    }
    // A Messenger customer, with an email and a phone number in a message.
    shop.say(
        "5580007123",
        "saree dam koto? mail me at karim.b@example.org or 01922333444",
    )
    .await;
    // Still a message that is not processed yet: the global ingest row.
    shop.clock.advance(time::Duration::seconds(5));
    shop.deliver(&messenger("m_waiting", "5580007123", "ar kichu?", shop.now_ms()))
        .await;

    let sent = shop.fake.sent();
    assert!(
        sent.iter()
            .any(|m| m.body.get("to").and_then(|to| to.as_str()) == Some("8801712345678")),
        "replies reach the WhatsApp customer: the number opens where it is needed"
    );
    assert!(
        sent.iter()
            .any(|m| m.body.pointer("/recipient/id").and_then(|id| id.as_str()) == Some("5580007123")),
        "and the Messenger customer"
    );
    assert_eq!(shop.scalar::<i64>("select count(*) from orders").await, 1);
    let inbox = bikriagent::conversations::inbox(
        &shop.pool,
        &shop.pipeline.keys,
        shop.owner,
        shop.now(),
        bikriagent::input::page::Page::FIRST,
    )
    .await
    .unwrap();
    let mut customers: Vec<&str> = inbox.iter().map(|row| row.customer.as_str()).collect();
    customers.sort_unstable();
    assert_eq!(
        customers,
        ["Customer ••7123", "Zubair Hossain"],
        "the owner sees the name, or the id's last digits"
    );

    let dump = dump(&shop).await;
    let whatsapp_hash = shop.pipeline.keys.lookup_hash("8801712345678");
    assert!(
        dump.contains(&hex(&whatsapp_hash)),
        "the dump has the customers' rows, by keyed hash"
    );
    for clear in [
        "8801712345678",
        "1712345678",
        "5580007123",
        "Zubair",
        "Hossain",
        "zubair.h@example.net",
        "karim.b@example.org",
        "01819999888",
        "1819999888",
        "01922333444",
        "House 9",
    ] {
        assert!(!dump.contains(clear), "`{clear}` is in the dump in clear");
    }
}

async fn order_as(shop: &Shop, sender: &str) {
    for message in [
        "red cotton saree order korbo",
        "1 ta",
        "amar nam Zubair Hossain",
        "01819999888",
        "House 9, Road 2, Dhaka city",
        "ha",
    ] {
        shop.say(sender, message).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_deleting_a_customer_leaves_no_trace_but_keeps_order_amounts() {
    let shop = shop().await;
    order_as(&shop, "5580001999").await;
    shop.say("5580002777", "saree dam koto?").await;
    assert_eq!(shop.scalar::<i64>("select count(*) from orders").await, 1);
    // Some of the customer's messages still waiting in the global ingest
    // table: deletion finds them by the customer's keyed hash.
    shop.deliver(&messenger("m_unprocessed", "5580001999", "ar ekta?", shop.now_ms()))
        .await;
    let deleted_hash = hex(&shop.pipeline.keys.lookup_hash("5580001999"));
    let kept_hash = hex(&shop.pipeline.keys.lookup_hash("5580002777"));
    let before = dump(&shop).await;
    assert!(
        before.contains(&deleted_hash),
        "the dump names the customer (by keyed hash) before deletion"
    );
    let conversation: Uuid = sqlx::query_scalar(
        "select c.id from conversations c join customers cu on cu.id = c.customer_id where cu.sender_hash = $1",
    )
    .bind(shop.pipeline.keys.lookup_hash("5580001999"))
    .fetch_one(&shop.db.admin_pool().await)
    .await
    .unwrap();
    let customer = deletion::customer_of_conversation(&shop.pool, shop.owner, conversation)
        .await
        .unwrap();
    let report = deletion::delete_customer(
        &shop.pool,
        &shop.pipeline.keys,
        shop.owner,
        customer,
        Some(shop.owner.as_uuid()),
        "owner request",
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.orders_anonymised, 1);
    assert!(report.messages >= 12, "both sides of the conversation: {report:?}");
    assert_eq!(
        report.inbound_rows, 7,
        "the six recorded deliveries and the waiting one: {report:?}"
    );
    let after = dump(&shop).await;
    assert!(!after.contains(&deleted_hash), "no row names the deleted customer");
    assert!(after.contains(&kept_hash), "the other customer is untouched");
    let (total, personal): (i64, bool) = sqlx::query_as(
        "select total_minor, customer_name_enc is not null or phone_enc is not null or address_enc is not null from orders",
    )
    .fetch_one(&shop.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(
        (total, personal),
        (131_000, false),
        "amounts kept, personal fields gone"
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from customers").await,
        1,
        "the other customer"
    );
    let audited: serde_json::Value = shop
        .scalar("select detail from security_events where kind = 'customer_data_deleted'")
        .await;
    assert!(
        !audited.to_string().contains("5580001999"),
        "the audit row names no contact detail: {audited}"
    );
    // Deleting again finds nothing.
    assert!(
        deletion::delete_customer(
            &shop.pool,
            &shop.pipeline.keys,
            shop.owner,
            customer,
            None,
            "again",
            &RequestMeta::default()
        )
        .await
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metas_deletion_callback_deletes_the_channels_customers_and_completes() {
    let shop = shop().await;
    shop.say("5580003111", "saree dam koto?").await;
    let code = bikriagent::channels::request_deletion(&shop.pool, &shop.fake.user_id())
        .await
        .unwrap();
    let status = bikriagent::channels::deletion_status(&shop.pool, &code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.0, "received");
    shop.drain().await;
    let status = bikriagent::channels::deletion_status(&shop.pool, &code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.0, "completed");
    assert_eq!(shop.scalar::<i64>("select count(*) from customers").await, 0);
    assert_eq!(shop.scalar::<i64>("select count(*) from messages").await, 0);
    let hash = hex(&shop.pipeline.keys.lookup_hash("5580003111"));
    assert!(!dump(&shop).await.contains(&hash), "no trace of the customer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_old_bodies_and_closed_cases_only() {
    let shop = shop().await;
    shop.say("5580004", "saree dam koto?").await;
    shop.say("5580005", "Do you have a branch in Sylhet with parking?")
        .await; // to review
    let admin = shop.db.admin_pool().await;
    // Age the first conversation's messages and close and age the review case.
    sqlx::query(
        "update messages set created_at = now() - interval '200 days' where conversation_id in \
           (select c.id from conversations c join customers cu on cu.id = c.customer_id where cu.sender_hash = $1)",
    )
    .bind(shop.pipeline.keys.lookup_hash("5580004"))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("update review_items set state = 'dismissed', resolved_at = now() - interval '100 days'")
        .execute(&admin)
        .await
        .unwrap();
    let report = deletion::purge(&shop.pool, Retention::default(), shop.now())
        .await
        .unwrap();
    assert_eq!(report.message_bodies, 2, "the old question and its reply");
    assert_eq!(report.review_cases, 1);
    let kept: i64 = shop
        .scalar("select count(*) from messages where body_enc is not null")
        .await;
    assert_eq!(kept, 2, "the recent message and its holding reply keep their bodies");
    let again = deletion::purge(&shop.pool, Retention::default(), shop.now())
        .await
        .unwrap();
    assert_eq!((again.message_bodies, again.review_cases), (0, 0), "nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_deletes_a_customer_from_the_conversation_page_after_confirming() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "delete@example.com").await;
    let page = owner
        .get(app.url("/sandbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&page).unwrap();
    owner
        .post(app.url("/api/sandbox_say"))
        .header("origin", PUBLIC_URL)
        .form(&[("text", "hello there"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let conversation: Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let page = owner
        .get(app.url(&format!("/inbox/{conversation}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("/inbox/{conversation}/delete")),
        "the conversation page offers deletion"
    );
    let confirm = owner
        .get(app.url(&format!("/inbox/{conversation}/delete")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("cannot be undone"));
    let post = |word: &'static str| {
        let owner = owner.clone();
        let url = app.url("/api/delete_customer_data");
        let token = token.clone();
        async move {
            owner
                .post(url)
                .header("origin", PUBLIC_URL)
                .form(&[
                    ("conversation", conversation.to_string().as_str()),
                    ("confirm", word),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let refused = post("yes").await;
    assert_eq!(location(&refused), format!("/inbox/{conversation}/delete"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from customers")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap(),
        1,
        "nothing deleted without the confirmation"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    let done = post("DELETE").await;
    assert_eq!(location(&done), "/inbox");
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from customers")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap(),
        0
    );
}
