//! Conversation handling that peers got wrong: the owner answering from
//! Meta's own apps, message bursts, double-submitted replies, the bot
//! disclosure and the HUMAN word, Graph API errors by code, and messages
//! without text.

use bikriagent::input::page::Page;
use serde_json::json;
use uuid::Uuid;

use crate::pipeline::{PAGE_ID, Shop, messenger, shop, shop_with};

/// An echo of a message the Page sent to `customer`, from `app_id`.
fn echo(mid: &str, customer: &str, app_id: u64, text: &str, timestamp_ms: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{ "id": PAGE_ID, "time": timestamp_ms, "messaging": [{
            "sender": { "id": PAGE_ID }, "recipient": { "id": customer }, "timestamp": timestamp_ms,
            "message": { "mid": mid, "is_echo": true, "app_id": app_id, "text": text } }] }]
    }))
    .unwrap()
}

async fn mode(shop: &Shop) -> String {
    shop.scalar("select mode::text from conversations").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_answering_in_metas_app_takes_the_conversation_over() {
    let shop = shop().await;
    shop.say("5560001", "saree dam koto?").await;
    assert_eq!(shop.fake.sent().len(), 1);
    // The echo of our own reply (our app id) changes nothing.
    shop.deliver(&echo("m_ours", "5560001", 1_234_567_890, "echo of ours", shop.now_ms()))
        .await;
    shop.drain().await;
    assert_eq!(mode(&shop).await, "agent");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from inbound_messages where kind = 'owner_echo'")
            .await,
        0
    );
    // The owner answers in the Facebook app (another app id).
    let owner_text = "Apu, ami nijei dekhchi.";
    for _ in 0..2 {
        shop.deliver(&echo(
            "m_owner",
            "5560001",
            263_902_037_430_900,
            owner_text,
            shop.now_ms(),
        ))
        .await;
    }
    shop.drain().await;
    assert_eq!(mode(&shop).await, "human");
    let (author, decision): (String, String) = sqlx::query_as(
        "select author::text, decision from messages where direction = 'out' order by created_at desc limit 1",
    )
    .fetch_one(&shop.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!((author.as_str(), decision.as_str()), ("owner", "sent from Meta's app"));
    assert_eq!(
        shop.scalar::<i64>("select count(*) from messages where author = 'owner'")
            .await,
        1,
        "once"
    );
    let inbox = bikriagent::conversations::inbox(&shop.pool, &shop.pipeline.keys, shop.owner, shop.now(), Page::FIRST)
        .await
        .unwrap();
    assert_eq!(
        inbox[0].preview, owner_text,
        "the owner's own message shows in the inbox"
    );
    assert!(
        inbox[0].note.contains("You answered from Facebook"),
        "{}",
        inbox[0].note
    );
    // The agent stays quiet...
    shop.say("5560001", "delivery charge koto?").await;
    assert_eq!(shop.fake.sent().len(), 1, "no automatic reply after the takeover");
    // ...until the owner has been quiet for the configured period (12 h).
    shop.clock.advance(time::Duration::hours(13));
    shop.say("5560001", "delivery charge koto?").await;
    assert_eq!(shop.fake.sent().len(), 2, "answered again after the quiet period");
    assert_eq!(mode(&shop).await, "agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_answered_once_with_the_whole_burst_as_context() {
    let shop = shop_with(|env| env.push(("BIKRI_BURST_QUIET_MS".into(), "60000".into()))).await;
    for (i, text) in ["hi", "red cotton saree", "dam koto?"].into_iter().enumerate() {
        let body = messenger(&format!("m_burst_{i}"), "5560002", text, shop.now_ms() + i as i64);
        shop.deliver(&body).await;
    }
    shop.drain().await;
    assert_eq!(
        shop.scalar::<i64>("select count(*) from messages where direction = 'in'")
            .await,
        3,
        "each message is stored on arrival"
    );
    assert!(shop.fake.sent().is_empty(), "nothing before the quiet period ends");
    shop.due_now().await;
    shop.drain().await;
    let texts = shop.sent_texts();
    assert_eq!(texts.len(), 1, "one answer to the burst: {texts:?}");
    assert!(
        texts[0].contains("1,250"),
        "the product came from an earlier message of the burst: {}",
        texts[0]
    );
    let decisions: Vec<String> =
        sqlx::query_scalar("select decision from messages where direction = 'in' order by created_at")
            .fetch_all(&shop.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(decisions[0], bikriagent::processing::IN_A_BURST);
    assert_eq!(decisions[1], bikriagent::processing::IN_A_BURST);
    assert!(
        decisions[2].starts_with("replied once to a burst of 3 messages"),
        "{}",
        decisions[2]
    );

    // One risky message sends the whole next burst to review.
    for (i, text) in ["ar ekta kotha", "taka ferot chai, refund den", "blue saree ache?"]
        .into_iter()
        .enumerate()
    {
        let body = messenger(&format!("m_risky_{i}"), "5560002", text, shop.now_ms() + 10 + i as i64);
        shop.deliver(&body).await;
    }
    shop.drain().await;
    shop.due_now().await;
    shop.drain().await;
    let sent = shop.sent_texts();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent[1].contains("Rahima Fashion") && !sent[1].contains('৳'),
        "no automatic answer to a burst with a refund request, only the holding reply: {sent:?}"
    );
    assert_eq!(
        shop.reviews().await.last().map(|r| r.0.clone()).as_deref(),
        Some("refund")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_human_word_hands_over_in_each_language() {
    for (word, acknowledged) in [
        (
            "HUMAN please",
            "Of course. Someone from Rahima Fashion will answer you here soon.",
        ),
        (
            "manush er sathe kotha bolbo",
            "Obosshoi. Rahima Fashion theke ekjon shiggiri ekhane apnar sathe kotha bolben.",
        ),
        (
            "মানুষ চাই",
            "অবশ্যই। Rahima Fashion থেকে একজন শিগগিরই এখানে আপনার সাথে কথা বলবেন।",
        ),
    ] {
        let shop = shop().await;
        shop.say("5560003", word).await;
        // Acknowledged in the customer's language, then handed over.
        assert_eq!(shop.sent_texts(), [acknowledged], "{word}");
        assert_eq!(shop.reviews().await[0].0, "human_request", "{word}");
        assert_eq!(mode(&shop).await, "human", "{word}");
        shop.say("5560003", "saree dam koto?").await;
        assert_eq!(shop.sent_texts().len(), 1, "the agent stays quiet after {word}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_reply_discloses_the_bot_in_the_customers_language() {
    let shop = shop().await;
    shop.say("5560004", "শাড়ির দাম কত?").await;
    shop.say("5560005", "saree er dam koto?").await;
    let texts = shop.sent_texts();
    assert_eq!(texts.len(), 2);
    assert!(texts[0].contains("মানুষ"), "Bangla disclosure: {}", texts[0]);
    assert!(texts[1].contains("manush"), "Banglish disclosure: {}", texts[1]);
    let noted: i64 = shop
        .scalar("select count(*) from messages where decision like '%(with the bot disclosure)'")
        .await;
    assert_eq!(noted, 2, "the inbox says the disclosure was sent");
    sqlx::query("update business_profiles set bot_disclosure = false")
        .execute(&shop.db.admin_pool().await)
        .await
        .unwrap();
    shop.say("5560006", "saree dam koto?").await;
    assert!(!shop.sent_texts()[2].contains("BikriAgent"), "the setting turns it off");
}

/// How a send ended after Meta answered with (status, code, subcode).
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// Retried with backoff, then sent.
    Retried,
    /// The channel needs reconnecting.
    Reconnect,
    /// Not retried, the draft in review, the channel still connected.
    Review,
    /// Sending in this conversation ended.
    ConversationEnded,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_errors_are_handled_by_code_not_text() {
    let cases = [
        (400, 190, Some(463), Expect::Reconnect),
        (400, 10, None, Expect::Reconnect),
        (403, 200, None, Expect::Reconnect),
        (400, 230, None, Expect::Reconnect),
        (400, 368, Some(1_390_008), Expect::Review),
        (400, 551, Some(1_545_041), Expect::ConversationEnded),
        (400, 613, None, Expect::Retried),
        (400, 4, None, Expect::Retried),
        (400, 17, None, Expect::Retried),
        (400, 32, None, Expect::Retried),
        (503, 2, None, Expect::Retried),
    ];
    for (status, code, subcode, expect) in cases {
        let shop = shop().await;
        shop.fake.fail_next("/messages", status, code, subcode, 1);
        shop.say("5560007", "saree dam koto?").await;
        let what = format!("{status} code {code}: {expect:?}");
        match expect {
            Expect::Retried => {
                assert!(shop.fake.sent().is_empty(), "{what}");
                shop.due_now().await;
                shop.drain().await;
                assert_eq!(shop.fake.sent().len(), 1, "{what}");
                assert_eq!(
                    shop.scalar::<String>("select status::text from channels").await,
                    "connected",
                    "{what}"
                );
            }
            Expect::Reconnect => {
                assert_eq!(
                    shop.scalar::<String>("select status::text from channels").await,
                    "token_invalid",
                    "{what}"
                );
                let inbox = bikriagent::conversations::inbox(
                    &shop.pool,
                    &shop.pipeline.keys,
                    shop.owner,
                    shop.now(),
                    Page::FIRST,
                )
                .await
                .unwrap();
                assert_eq!(
                    inbox[0].channel_status,
                    bikriagent::channels::ChannelStatus::TokenInvalid,
                    "the inbox shows it"
                );
            }
            Expect::Review => {
                assert_eq!(shop.reviews().await[0].0, "send_failed", "{what}");
                assert_eq!(
                    shop.scalar::<String>("select status::text from channels").await,
                    "connected",
                    "{what}"
                );
                assert_eq!(mode(&shop).await, "agent", "{what}");
            }
            Expect::ConversationEnded => {
                assert_eq!(mode(&shop).await, "human", "{what}");
                assert_eq!(
                    shop.scalar::<String>("select status::text from channels").await,
                    "connected",
                    "{what}"
                );
                shop.say("5560007", "hello?").await;
                shop.due_now().await;
                shop.drain().await;
                assert!(
                    shop.fake.sent().is_empty(),
                    "no more sends to a person who cannot receive them"
                );
            }
        }
        if expect != Expect::Retried {
            shop.due_now().await;
            shop.drain().await;
            assert!(shop.fake.sent().is_empty(), "{what}: not retried");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_without_text_are_shown_and_sent_to_review_never_answered() {
    let shop = shop().await;
    let image = serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{ "id": PAGE_ID, "time": 1, "messaging": [{
            "sender": { "id": "5560008" }, "recipient": { "id": PAGE_ID }, "timestamp": shop.now_ms(),
            "message": { "mid": "m_image", "attachments": [{ "type": "image", "payload": { "url": "https://example.invalid/p.jpg" } }] } }] }]
    }))
    .unwrap();
    shop.deliver(&image).await;
    shop.drain().await;
    assert_eq!(shop.reviews().await[0].0, "no_text");
    let sent = shop.sent_texts();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].ends_with("Someone from Rahima Fashion will answer you here soon."),
        "{sent:?}"
    );
    let inbox = bikriagent::conversations::inbox(&shop.pool, &shop.pipeline.keys, shop.owner, shop.now(), Page::FIRST)
        .await
        .unwrap();
    let thread = bikriagent::conversations::conversation(
        &shop.pool,
        &shop.pipeline.keys,
        shop.owner,
        inbox[0].conversation,
        shop.now(),
    )
    .await
    .unwrap();
    assert!(
        thread.messages.iter().any(|m| m.kind == "image" && m.text.is_none()),
        "the image is shown in the thread"
    );
    // An image inside a burst makes the whole burst go to review.
    let shop = shop_with(|env| env.push(("BIKRI_BURST_QUIET_MS".into(), "60000".into()))).await;
    let mut image = image.clone();
    image = String::from_utf8(image)
        .unwrap()
        .replace("5560008", "5560009")
        .into_bytes();
    shop.deliver(&image).await;
    shop.deliver(&messenger("m_after_image", "5560009", "ei ta koto?", shop.now_ms() + 1))
        .await;
    shop.drain().await;
    shop.due_now().await;
    shop.drain().await;
    let sent = shop.sent_texts();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].contains("Rahima Fashion theke ekjon") && !sent[0].contains('৳'),
        "no answer that pretends to understand the image, a holding reply in the conversation's language: {sent:?}"
    );
    assert_eq!(shop.reviews().await[0].0, "no_text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submitted_reply_form_sends_once() {
    let app = crate::helpers::spawn_app().await;
    let owner_client = crate::helpers::verified_owner(&app, "double@example.com").await;
    let page = owner_client
        .get(app.url("/sandbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::helpers::csrf_token(&page).unwrap();
    let response = owner_client
        .post(app.url("/api/sandbox_say"))
        .header("origin", crate::helpers::PUBLIC_URL)
        .form(&[("text", "hello"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(crate::helpers::location(&response), "/sandbox");
    let conversation: Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let page = owner_client
        .get(app.url(&format!("/inbox/{conversation}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = page
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        let response = owner_client
            .post(app.url("/api/owner_reply"))
            .header("origin", crate::helpers::PUBLIC_URL)
            .form(&[
                ("conversation", conversation.to_string().as_str()),
                ("text", "I will check and tell you."),
                ("idempotency_key", &key),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(crate::helpers::location(&response), format!("/inbox/{conversation}"));
    }
    let owner_sends: i64 = sqlx::query_scalar("select count(*) from outbound_sends where author = 'owner'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(owner_sends, 1, "one send for one form, however often it is posted");
}
