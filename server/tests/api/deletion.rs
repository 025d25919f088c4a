//! Customer data deletion (by the owner, by staff on a verified request, by
//! Meta's callback) leaves no trace in a full dump; retention purges old
//! bodies and closed cases.

use std::time::Duration;

use bikriagent::audit::RequestMeta;
use bikriagent::deletion::{self, Retention};
use uuid::Uuid;

use crate::helpers::{PUBLIC_URL, csrf_token, location, spawn_app, verified_owner};
use crate::pipeline::{Shop, shop};

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
    let before = dump(&shop).await;
    assert!(
        before.contains("5580001999"),
        "the dump shows the customer before deletion"
    );
    let conversation: Uuid = shop
        .scalar("select c.id from conversations c join customers cu on cu.id = c.customer_id where cu.sender_id = '5580001999'")
        .await;
    let customer = deletion::customer_of_conversation(&shop.pool, shop.owner, conversation)
        .await
        .unwrap();
    let report = deletion::delete_customer(
        &shop.pool,
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
    let after = dump(&shop).await;
    assert!(!after.contains("5580001999"), "no row names the deleted customer");
    assert!(after.contains("5580002777"), "the other customer is untouched");
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
    assert_eq!(shop.scalar::<i64>("select count(*) from review_items r join conversations c on c.id = r.conversation_id join customers cu on cu.id = c.customer_id where cu.sender_id = '5580001999'").await, 0);
    let audited: serde_json::Value = shop
        .scalar("select detail from security_events where kind = 'customer_data_deleted'")
        .await;
    assert!(
        !audited.to_string().contains("5580001999"),
        "the audit row names no contact detail: {audited}"
    );
    // Deleting again finds nothing.
    assert!(
        deletion::delete_customer(&shop.pool, shop.owner, customer, None, "again", &RequestMeta::default())
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
    assert!(!dump(&shop).await.contains("5580003111"), "no trace of the customer");
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
           (select c.id from conversations c join customers cu on cu.id = c.customer_id where cu.sender_id = '5580004')",
    )
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
    assert_eq!(kept, 1, "the recent message keeps its body");
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
