//! Customers' platform ids at rest: rows of earlier versions are rewritten
//! once at start, and a data key rotation neither loses nor splits a
//! customer.

use bikriagent::crypto::DataKeys;
use bikriagent::customer_ids;
use bikriagent::deletion;
use uuid::Uuid;

use crate::pipeline::{PAGE_ID, messenger, shop, shop_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_earlier_versions_are_hashed_and_sealed_once_and_keep_their_customer() {
    let shop = shop().await;
    let admin = shop.db.admin_pool().await;
    let channel: Uuid = shop.scalar("select id from channels").await;
    // What an earlier version wrote: ids in clear.
    let customer = Uuid::new_v4();
    sqlx::query("insert into customers (id, owner_id, channel_id, legacy_sender_id) values ($1, $2, $3, '5550041')")
        .bind(customer)
        .bind(shop.owner.as_uuid())
        .bind(channel)
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("insert into conversations (id, owner_id, channel_id, customer_id) values ($1, $2, $3, $4)")
        .bind(Uuid::new_v4())
        .bind(shop.owner.as_uuid())
        .bind(channel)
        .bind(customer)
        .execute(&admin)
        .await
        .unwrap();
    let (done, waiting) = (Uuid::new_v4(), Uuid::new_v4());
    for (id, mid, state) in [
        (done, "m_old_done", "processed"),
        (waiting, "m_old_waiting", "received"),
    ] {
        sqlx::query(
            "insert into inbound_messages (id, platform, provider_message_id, channel_meta_id, legacy_sender_id, kind, \
                                           sent_at_ms, state) \
             values ($1, 'messenger', $2, $3, '5550041', 'text', $4, $5)",
        )
        .bind(id)
        .bind(mid)
        .bind(PAGE_ID)
        .bind(shop.now_ms())
        .bind(state)
        .execute(&admin)
        .await
        .unwrap();
    }

    let keys = &shop.pipeline.keys;
    let report = customer_ids::backfill(&shop.pool, keys).await.unwrap();
    assert_eq!(
        report,
        Some(customer_ids::BackfillReport {
            inbound_rows: 2,
            customers: 1
        })
    );
    let clear: i64 = shop
        .scalar(
            "select (select count(*) from customers where legacy_sender_id is not null) \
                  + (select count(*) from inbound_messages where legacy_sender_id is not null)",
        )
        .await;
    assert_eq!(clear, 0, "no id left in clear");
    let (hash, sealed): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("select sender_hash, sender_enc from customers where id = $1")
            .bind(customer)
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(hash, keys.lookup_hash("5550041"));
    assert_eq!(
        customer_ids::open_customer(keys, shop.owner, customer, &sealed).unwrap(),
        "5550041"
    );
    let processed_sealed: Option<Vec<u8>> = sqlx::query_scalar("select sender_enc from inbound_messages where id = $1")
        .bind(done)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(processed_sealed, None, "a processed row keeps only the hash");
    assert_eq!(
        customer_ids::backfill(&shop.pool, keys).await.unwrap(),
        None,
        "once per database"
    );

    // The waiting message and a new one land with the same customer.
    shop.pipeline.process_inbound(waiting).await.unwrap();
    shop.say("5550041", "saree dam koto?").await;
    assert_eq!(shop.scalar::<i64>("select count(*) from customers").await, 1);
    assert_eq!(
        shop.scalar::<i64>("select count(*) from messages where direction = 'in'")
            .await,
        2
    );
    let sent = shop.fake.sent();
    assert_eq!(
        sent.last()
            .and_then(|m| m.body.pointer("/recipient/id"))
            .and_then(|id| id.as_str()),
        Some("5550041"),
        "the reply goes to the backfilled id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_data_key_finds_customers_hashed_under_the_old_one_and_rotate_keys_rewrites_them() {
    let mut env = Vec::new();
    let shop = shop_with(|vars| env.clone_from(vars)).await;
    shop.say("5550051", "saree dam koto?").await;
    shop.clock.advance(time::Duration::seconds(5));
    // A delivery stored but not processed yet when the key changes.
    shop.deliver(&messenger("m_before_rotation", "5550051", "ar ekta?", shop.now_ms()))
        .await;
    let config = bikriagent_server::config::Config::from_vars(env).unwrap();
    let old_key = *config.data_key_bytes();
    let rotated = DataKeys::new(2, &[42u8; 32], &[(1, old_key)]);
    assert_ne!(
        rotated.lookup_hash("5550051"),
        shop.pipeline.keys.lookup_hash("5550051")
    );

    // Under the new key, before rotate-keys ran: the same customer.
    let found = deletion::customer_by_sender(&shop.pool, &rotated, shop.owner, "5550051")
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "found by the old key's hash");
    let mut pipeline = shop.pipeline.clone();
    pipeline.keys = rotated.clone();
    pipeline.sender.keys = rotated.clone();
    let waiting: Uuid = shop
        .scalar("select id from inbound_messages where provider_message_id = 'm_before_rotation'")
        .await;
    pipeline.process_inbound(waiting).await.unwrap();
    assert_eq!(
        shop.scalar::<i64>("select count(*) from customers").await,
        1,
        "no second customer"
    );

    let (rewritten, failed) = customer_ids::rotate(&shop.pool, &rotated).await.unwrap();
    assert_eq!(
        (rewritten, failed),
        (1, 0),
        "the customer (the inbound rows are processed)"
    );
    let only_new = DataKeys::new(2, &[42u8; 32], &[]);
    let found = deletion::customer_by_sender(&shop.pool, &only_new, shop.owner, "5550051")
        .await
        .unwrap();
    assert_eq!(found, [found[0]], "found with the new key alone");
    let (hash, sealed): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("select sender_hash, sender_enc from customers where id = $1")
            .bind(found[0])
            .fetch_one(&shop.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(hash, only_new.lookup_hash("5550051"));
    assert_eq!(
        customer_ids::open_customer(&only_new, shop.owner, found[0], &sealed).unwrap(),
        "5550051",
        "and its id opens with the new key alone"
    );
    assert_eq!(
        customer_ids::rotate(&shop.pool, &only_new).await.unwrap(),
        (0, 0),
        "nothing left to rewrite"
    );
}
