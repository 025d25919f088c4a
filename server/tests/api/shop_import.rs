//! Importing a shop file (docs/SHOP_FILE.md) into a real account: through
//! the store's own functions, in one transaction, scoped to the owner, and
//! idempotent (importing twice adds nothing).

use bikriagent::catalog::shop_file::{self, ShopFile};
use bikriagent::catalog::store::{self, ProductInput};
use bikriagent::tenancy::{OwnerId, begin_tenant_tx};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::TestDb;

const EXAMPLE: &str = include_str!("../../../docs/examples/shop.json");

async fn owner(admin: &PgPool, email: &str, business: &str) -> OwnerId {
    let id: Uuid = sqlx::query_scalar(
        "insert into accounts (email, name, password_hash, status, email_verified_at, payment_verified_at) \
         values ($1, 'Owner', 'x', 'active', now(), now()) returning id",
    )
    .bind(email)
    .fetch_one(admin)
    .await
    .unwrap();
    sqlx::query("insert into business_profiles (owner_id, name) values ($1, $2)")
        .bind(id)
        .bind(business)
        .execute(admin)
        .await
        .unwrap();
    OwnerId::from_verified(id)
}

/// Rows of each catalog table, as the owner sees them (RLS and owner filter).
async fn counts(pool: &PgPool, owner: OwnerId) -> [i64; 5] {
    let mut tx = begin_tenant_tx(pool, owner).await.unwrap();
    let mut counts = [0; 5];
    for (i, table) in [
        "products",
        "product_variants",
        "delivery_areas",
        "payment_methods",
        "faq_entries",
    ]
    .into_iter()
    .enumerate()
    {
        counts[i] = sqlx::query_scalar(&format!("select count(*) from {table} where owner_id = $1"))
            .bind(owner.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    }
    bikriagent::db::commit(tx).await.unwrap();
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_file_imports_everything_for_its_owner_only_and_twice_adds_nothing() {
    let db = TestDb::new().await;
    let admin = db.admin_pool().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 4).await.unwrap();
    let a = owner(&admin, "a@example.com", "Old name").await;
    let b = owner(&admin, "b@example.com", "Shop B").await;
    assert_eq!(
        bikriagent::owners::owner_by_email(&pool, "A@Example.com")
            .await
            .unwrap(),
        Some(a)
    );
    // Already in the account: a product the file updates (its picture stays)
    // and one the file does not name (it stays as it is).
    let saree = store::create_product(
        &pool,
        a,
        &ProductInput {
            sku: "SAREE-RED".into(),
            name: "Old saree".into(),
            price: "999".into(),
            stock: "1".into(),
            image_urls: "https://example.com/saree.jpg".into(),
            active: true,
            ..ProductInput::default()
        },
    )
    .await
    .unwrap();
    store::set_archived(&pool, a, saree, true).await.unwrap();
    store::create_product(
        &pool,
        a,
        &ProductInput {
            sku: "KEEP-1".into(),
            name: "Kept".into(),
            price: "10".into(),
            active: true,
            ..ProductInput::default()
        },
    )
    .await
    .unwrap();
    store::save_rules(&pool, a, "formal", "free delivery", "", "", "", "Nusrat will answer.")
        .await
        .unwrap();

    let file = ShopFile::from_json(EXAMPLE.as_bytes()).unwrap();
    let report = shop_file::import(&pool, a, &file).await.unwrap();
    assert_eq!((report.products_created, report.products_updated), (1, 1), "{report}");
    assert_eq!(report.variants, 2);
    assert_eq!(
        counts(&pool, a).await,
        [3, 2, 2, 2, 1],
        "products, variants, areas, payments, faq"
    );
    assert_eq!(counts(&pool, b).await, [0; 5], "nothing reaches another owner");

    let product = store::get_product(&pool, a, saree).await.unwrap();
    assert_eq!(product.draft.name, "Red Cotton Saree");
    assert_eq!(product.draft.price.minor(), 185_000);
    assert_eq!(product.draft.image_urls, ["https://example.com/saree.jpg"], "kept");
    assert!(!product.archived, "a product in the file is for sale again");
    let profile = store::load_profile(&pool, a).await.unwrap();
    assert_eq!(profile.name, "Rangdhanu Fashion");
    assert_eq!(profile.opening_hours, "Every day 10am to 9pm");
    let contact = store::load_contact(&pool, a).await.unwrap();
    assert_eq!(contact.address, "House 12, Road 5, Dhanmondi, Dhaka");
    assert_eq!(contact.contact_phone, "01711000000");
    let rules = store::load_rules(&pool, a).await.unwrap();
    assert_eq!(rules.tone, "formal", "not in the file: kept");
    assert_eq!(rules.never_say, ["free delivery"]);
    assert_eq!(rules.review_topics, ["wholesale"]);
    assert_eq!(rules.holding_message, "Nusrat will answer.");
    let methods = store::list_payment_methods(&pool, a).await.unwrap();
    assert!(
        methods
            .iter()
            .any(|m| m.label == "bKash" && m.instructions.starts_with("Send Money"))
    );

    // The live grounding answers from the imported data.
    let mut tx = begin_tenant_tx(&pool, a).await.unwrap();
    let grounding = bikriagent::catalog::grounding::load(&mut tx, a, "white panjabi", &Default::default())
        .await
        .unwrap();
    bikriagent::db::commit(tx).await.unwrap();
    let panjabi = grounding.products.iter().find(|p| p.sku == "PANJABI-WHITE").unwrap();
    assert_eq!(panjabi.variants.len(), 2);
    assert_eq!(panjabi.stock, Some(3), "the sum of its variants'");
    assert_eq!(grounding.owner_address, "House 12, Road 5, Dhanmondi, Dhaka");

    // Twice: the same rows, updated, no twins.
    let variant_ids: Vec<Uuid> = sqlx::query_scalar("select id from product_variants order by id")
        .fetch_all(&admin)
        .await
        .unwrap();
    let again = shop_file::import(&pool, a, &file).await.unwrap();
    assert_eq!((again.products_created, again.products_updated), (0, 2), "{again}");
    assert_eq!((again.delivery_areas_created, again.faq_created), (0, 0), "{again}");
    assert_eq!(counts(&pool, a).await, [3, 2, 2, 2, 1]);
    let after: Vec<Uuid> = sqlx::query_scalar("select id from product_variants order by id")
        .fetch_all(&admin)
        .await
        .unwrap();
    assert_eq!(after, variant_ids, "variants keep their ids");

    // Another owner can import the same file: its own rows, same SKUs.
    shop_file::import(&pool, b, &file).await.unwrap();
    assert_eq!(counts(&pool, b).await, [2, 2, 2, 2, 1]);
    assert_eq!(counts(&pool, a).await, [3, 2, 2, 2, 1]);
}

/// The products a reply is grounded in, from a catalog larger than the
/// grounding holds: the one the message names is among them, the products
/// the conversation is about come first, a product added, renamed or
/// archived after a message is seen on the next (the matcher's copy of the
/// catalog follows its version), and another owner's catalog never mixes in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grounding_holds_the_products_named_and_follows_catalog_changes() {
    use bikriagent::pipeline::grounding::{ConversationState, MAX_GROUNDED_PRODUCTS};
    let db = TestDb::new().await;
    let admin = db.admin_pool().await;
    let pool = bikriagent::db::connect_app_pool(&db.url, 4).await.unwrap();
    let a = owner(&admin, "a@example.com", "Shop A").await;
    let b = owner(&admin, "b@example.com", "Shop B").await;
    let input = |sku: String, name: String| ProductInput {
        sku,
        name,
        price: "100".into(),
        active: true,
        ..ProductInput::default()
    };
    for n in 0..30 {
        store::create_product(&pool, a, &input(format!("PLAIN-{n}"), format!("Plain Cotton Item {n}")))
            .await
            .unwrap();
    }
    let kantha = store::create_product(&pool, a, &input("KANTHA-1".into(), "Nakshi Kantha Bed Cover".into()))
        .await
        .unwrap();
    store::create_product(&pool, b, &input("B-ONLY".into(), "Jamdani Table Runner".into()))
        .await
        .unwrap();
    let load = |text: &'static str, state: ConversationState| {
        let pool = pool.clone();
        async move {
            let mut tx = begin_tenant_tx(&pool, a).await.unwrap();
            let grounding = bikriagent::catalog::grounding::load(&mut tx, a, text, &state)
                .await
                .unwrap();
            bikriagent::db::commit(tx).await.unwrap();
            grounding
        }
    };
    let skus =
        |g: &bikriagent::pipeline::grounding::Grounding| g.products.iter().map(|p| p.sku.clone()).collect::<Vec<_>>();

    let grounding = load("nakshi kantha ta koto?", ConversationState::default()).await;
    assert_eq!(grounding.products.len(), MAX_GROUNDED_PRODUCTS);
    assert_eq!(grounding.catalog_size, 31);
    assert_eq!(skus(&grounding)[0], "KANTHA-1", "the product named ranks first");
    assert!(!skus(&grounding).contains(&"B-ONLY".to_owned()));

    // The product the conversation is about comes first whatever is asked.
    let about = ConversationState {
        last_product: Some(kantha),
        ..ConversationState::default()
    };
    let grounding = load("plain cotton item 7 ache?", about).await;
    assert_eq!(skus(&grounding)[..2], ["KANTHA-1", "PLAIN-7"]);

    // Added after the catalog was read: found on the next message.
    let table_runner = store::create_product(&pool, a, &input("RUNNER-1".into(), "Jamdani Table Runner".into()))
        .await
        .unwrap();
    let grounding = load("jamdani table runner", ConversationState::default()).await;
    assert_eq!(skus(&grounding)[0], "RUNNER-1");
    assert_eq!(grounding.catalog_size, 32);
    // Archived: gone on the next message.
    store::set_archived(&pool, a, table_runner, true).await.unwrap();
    let grounding = load("jamdani table runner", ConversationState::default()).await;
    assert!(
        !skus(&grounding).contains(&"RUNNER-1".to_owned()),
        "{:?}",
        skus(&grounding)
    );
    // Renamed in place (same count of products): the new name is matched.
    sqlx::query("update products set name = 'Silk Cushion Cover' where sku = 'PLAIN-3'")
        .execute(&admin)
        .await
        .unwrap();
    let grounding = load("silk cushion cover", ConversationState::default()).await;
    assert_eq!(skus(&grounding)[0], "PLAIN-3");
}
