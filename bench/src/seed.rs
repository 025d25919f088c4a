//! Benchmark data, written through the product's own library functions
//! (catalog, channel connect, message recording), so rows, seals and
//! indexes are what real use makes.

use std::sync::Arc;

use bikriagent::audit::RequestMeta;
use bikriagent::catalog::store::{self, ProductInput};
use bikriagent::channels::{self, Candidate, Pending};
use bikriagent::conversations::{self, Incoming};
use bikriagent::crypto::DataKeys;
use bikriagent::meta::graph::{GraphClient, Platform};
use bikriagent::tenancy::{OwnerId, begin_tenant_tx};
use sqlx::PgPool;
use uuid::Uuid;

use crate::server::APP_ID;

/// The password of every bench owner.
pub const OWNER_PASSWORD: &str = "quiet-harbor-lantern-7731";

const COLORS: [&str; 10] = [
    "Red", "Blue", "Green", "Black", "White", "Yellow", "Maroon", "Pink", "Orange", "Purple",
];
const ITEMS: [&str; 5] = [
    "Tangail Saree",
    "Jamdani Saree",
    "Lawn Three-Piece",
    "Cotton Panjabi",
    "Silk Hijab",
];

/// The name of product `j` (0..50) of every bench shop.
pub fn product_name(j: usize) -> String {
    format!(
        "{} {}",
        COLORS[j % COLORS.len()],
        ITEMS[(j / COLORS.len()) % ITEMS.len()]
    )
}

/// The Page id of owner `i`.
pub fn page_id(i: usize) -> String {
    (3_000_000_000u64 + i as u64).to_string()
}

/// One seeded owner.
#[derive(Debug, Clone)]
pub struct Owner {
    pub id: OwnerId,
    pub email: String,
    pub page_id: String,
}

/// The argon2id hash of [`OWNER_PASSWORD`] (PHC string; verification reads
/// its parameters from it).
pub fn password_hash() -> String {
    use argon2::password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng};
    argon2::Argon2::default()
        .hash_password(OWNER_PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("argon2 hashes a short password")
        .to_string()
}

/// `count` payment-verified owners, each with `products` products, delivery
/// areas and payment methods, and one connected Messenger Page.
pub async fn owners(
    admin: &PgPool,
    app: &PgPool,
    keys: &DataKeys,
    graph_url: &str,
    count: usize,
    products: usize,
) -> anyhow::Result<Vec<Owner>> {
    let hash = password_hash();
    let graph = Arc::new(GraphClient::new(graph_url, APP_ID, String::from("unused").into())?);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (admin, app, keys, graph, next, hash) = (
            admin.clone(),
            app.clone(),
            keys.clone(),
            graph.clone(),
            next.clone(),
            hash.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                made.push(owner(&admin, &app, &keys, &graph, i, products, &hash).await?);
            }
            anyhow::Ok(made)
        }));
    }
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by_key(|owner| owner.page_id.clone());
    Ok(all)
}

async fn owner(
    admin: &PgPool,
    app: &PgPool,
    keys: &DataKeys,
    graph: &GraphClient,
    i: usize,
    products: usize,
    hash: &str,
) -> anyhow::Result<Owner> {
    let email = format!("owner{i}@bench.bikriagent.local");
    let id: Uuid = sqlx::query_scalar(
        "insert into accounts (role, email, name, phone, password_hash, status, email_verified_at, payment_verified_at) \
         values ('owner', $1, $2, '+8801711000000', $3, 'active', now(), now()) returning id",
    )
    .bind(&email)
    .bind(format!("Bench Owner {i}"))
    .bind(hash)
    .fetch_one(admin)
    .await?;
    let owner = OwnerId::from_verified(id);
    let mut tenant = begin_tenant_tx(app, owner).await?;
    sqlx::query("insert into business_profiles (owner_id, name, description) values ($1, $2, $3)")
        .bind(id)
        .bind(format!("Bench Shop {i}"))
        .bind("Handloom sarees, three-pieces and panjabis, delivered across Bangladesh.")
        .execute(&mut *tenant)
        .await?;
    bikriagent::db::commit(tenant).await?;
    for j in 0..products {
        store::create_product(
            app,
            owner,
            &ProductInput {
                sku: format!("SKU-{j:03}"),
                name: product_name(j),
                name_bn: String::new(),
                description: format!("{}, handmade in Bangladesh.", product_name(j)),
                price: (1000 + 50 * j).to_string(),
                sale_price: String::new(),
                stock: "25".to_owned(),
                tags: "bench".to_owned(),
                active: true,
                ..ProductInput::default()
            },
        )
        .await?;
    }
    store::add_delivery_area(app, owner, "Inside Dhaka", "60", "1", "2").await?;
    store::add_payment_method(app, owner, "cod", "Pay the delivery person in cash.").await?;
    let page = page_id(i);
    let pending = channels::save_pending(
        app,
        keys,
        owner,
        &Pending {
            meta_user_id: format!("9{i:09}"),
            candidates: vec![Candidate {
                platform: Platform::Messenger,
                meta_id: page.clone(),
                parent_id: None,
                display_name: format!("Bench Page {i}"),
                token: format!("EAAbenchPageToken{i}"),
            }],
        },
    )
    .await?;
    let outcome = channels::connect(
        app,
        keys,
        graph,
        owner,
        pending,
        &[format!("messenger:{page}")],
        &RequestMeta::default(),
    )
    .await?;
    anyhow::ensure!(outcome.refused.is_empty(), "page {page} was refused");
    Ok(Owner {
        id: owner,
        email,
        page_id: page,
    })
}

/// `conversations` conversations with `per_conversation` customer messages
/// each, recorded as the pipeline records them, and one open review case in
/// every `review_every`-th conversation.
pub async fn history(
    app: &PgPool,
    keys: &DataKeys,
    owner: OwnerId,
    conversations: usize,
    per_conversation: usize,
    review_every: usize,
) -> anyhow::Result<()> {
    let channel: Uuid = {
        let mut tx = begin_tenant_tx(app, owner).await?;
        let id = sqlx::query_scalar("select id from channels where owner_id = $1 limit 1")
            .bind(owner.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
        bikriagent::db::commit(tx).await?;
        id
    };
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (app, keys, next) = (app.clone(), keys.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= conversations {
                    break;
                }
                let mut tx = begin_tenant_tx(&app, owner).await?;
                let mut last = None;
                for m in 0..per_conversation {
                    let at = start + time::Duration::seconds((c * per_conversation + m) as i64 * 25);
                    let text = format!(
                        "{} — {}",
                        crate::deliveries::INGEST_TEXTS[m % crate::deliveries::INGEST_TEXTS.len()],
                        product_name((c + m) % 50)
                    );
                    let classification = bikriagent::pipeline::classifier::classify(&text);
                    let recorded = conversations::record_customer_message(
                        &mut tx,
                        &keys,
                        owner,
                        &Incoming {
                            channel,
                            sender_id: format!("psid-history-{c}"),
                            sender_name: Some(format!("Customer {c}")),
                            kind: "text".to_owned(),
                            text: Some(text),
                            sent_at: at,
                            inbound_id: None,
                            provider_message_id: Some(format!("m_history_{c}_{m}")),
                        },
                        Some(&classification),
                    )
                    .await?;
                    last = Some(recorded);
                }
                if let Some(recorded) = last
                    && c % review_every == 0
                {
                    sqlx::query(
                        "insert into review_items (id, owner_id, conversation_id, message_id, reason, detail) \
                         values ($1, $2, $3, $4, 'engine', 'no grounded answer')",
                    )
                    .bind(Uuid::new_v4())
                    .bind(owner.as_uuid())
                    .bind(recorded.conversation)
                    .bind(recorded.message)
                    .execute(&mut *tx)
                    .await?;
                }
                bikriagent::db::commit(tx).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
