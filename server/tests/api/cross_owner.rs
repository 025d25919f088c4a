//! Two owners, A and B, each with a connected Page, conversations, review
//! cases and an order made by the real pipeline: B can neither open nor act
//! on anything of A's, by any page or any form that takes an id.
//!
//! Both tables below are the whole matrix: a new page or form that takes an
//! id gets one row. A test fails if a form that takes an id has no row.

use std::sync::Arc;

use bikriagent::auth::access::Audience;
use bikriagent::catalog::{csv_import, store};
use bikriagent::channels::{self, Candidate, Pending};
use bikriagent::jobs;
use bikriagent::meta::graph::Platform;
use bikriagent::meta::signature::hub_signature;
use bikriagent::tenancy::OwnerId;
use bikriagent_server::config::Config;
use bikriagent_server::http::policy;
use bikriagent_server::startup;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{
    OWNER_PASSWORD, PUBLIC_URL, TestApp, browser, csrf_token, location, spawn_app_with, verified_owner,
};
use crate::pipeline::{connect_messenger, messenger_to};

/// Everything of one owner the matrix points at.
struct Tenant {
    client: reqwest::Client,
    owner: OwnerId,
    conversation: Uuid,
    order: Uuid,
    /// Open review cases: one to approve, one to dismiss.
    review_to_approve: Uuid,
    review_to_dismiss: Uuid,
    product: Uuid,
    variant: Uuid,
    faq: Uuid,
    area: Uuid,
    method: Uuid,
    import: Uuid,
    channel: Uuid,
    pending: Uuid,
    /// A second session of the owner (the first is `client`'s).
    other_session: String,
    /// Text of this owner's that no other owner's page may show.
    secrets: Vec<String>,
}

/// The Pages of the fake Meta, one per owner.
const PAGES: [(&str, &str); 2] = [
    ("1000000001", "EAAGfakePageToken1000000001"),
    ("1000000002", "EAAGfakePageToken1000000002"),
];

/// The app with no background worker: the test runs the jobs itself, so
/// each step is done when the test looks.
struct World {
    app: TestApp,
    fake: bikriagent_server::fake_meta::FakeMeta,
    pipeline: bikriagent::processing::Pipeline,
    registry: jobs::Registry,
    sent: std::sync::atomic::AtomicI64,
}

impl World {
    async fn new() -> Self {
        let fake = bikriagent_server::fake_meta::FakeMeta::spawn(0, "1234567890", "test-app-secret")
            .await
            .unwrap();
        let (graph, dialog) = (fake.graph_url(), fake.dialog_url());
        let app = spawn_app_with(move |env| {
            env.push(("META_GRAPH_URL".into(), graph));
            env.push(("META_DIALOG_URL".into(), dialog));
            env.retain(|(k, _)| k != "BIKRI_WORKERS");
            env.push(("BIKRI_WORKERS".into(), "0".into()));
        })
        .await;
        let config = Arc::new(Config::from_vars(app.env.clone()).unwrap());
        let pipeline = startup::pipeline(&app.pool, &config, Arc::new(app.clock.clone()));
        let registry = startup::job_registry(&app.pool, &config, &pipeline);
        Self {
            app,
            fake,
            pipeline,
            registry,
            sent: std::sync::atomic::AtomicI64::new(0),
        }
    }

    async fn admin(&self) -> PgPool {
        self.app.db.admin_pool().await
    }

    /// A customer's message to `page`, through the signed webhook, then
    /// every job it makes, as a worker would run them.
    async fn say(&self, page: &str, sender: &str, text: &str) {
        use bikriagent::clock::Clock as _;
        self.app.clock.advance(time::Duration::seconds(5));
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now_ms = (self.app.clock.now().unix_timestamp_nanos() / 1_000_000) as i64;
        let body = messenger_to(page, &format!("m_cross_{n}"), sender, text, now_ms);
        let response = self
            .app
            .client
            .post(self.app.url("/webhooks/meta"))
            .header("x-hub-signature-256", hub_signature(b"test-app-secret", &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        for _ in 0..200 {
            let Some(job) = jobs::claim(&self.app.pool, std::time::Duration::from_secs(60))
                .await
                .unwrap()
            else {
                return;
            };
            self.registry.run_one(&self.app.pool, job).await.unwrap();
        }
        panic!("the queue did not drain");
    }

    /// An owner with a catalog, a Page, an order, two review cases, a
    /// pending connection, an import preview and a second session.
    async fn tenant(&self, email: &str, page: (&str, &str), mark: &str, senders: [&str; 3]) -> Tenant {
        let (pool, keys) = (&self.app.pool, &self.pipeline.keys);
        let client = verified_owner(&self.app, email).await;
        let owner: Uuid = sqlx::query_scalar("select id from accounts where email = $1")
            .bind(email)
            .fetch_one(&self.admin().await)
            .await
            .unwrap();
        let owner = OwnerId::from_verified(owner);
        let sku = format!("{mark}-SAREE-1");
        let product = store::create_product(
            pool,
            owner,
            &store::ProductInput {
                sku: sku.clone(),
                name: "Red Cotton Saree".into(),
                price: "1250".into(),
                stock: "10".into(),
                active: true,
                ..store::ProductInput::default()
            },
        )
        .await
        .unwrap();
        store::add_variant(pool, owner, product, "XL", &format!("{mark} green"), "0", "2")
            .await
            .unwrap();
        store::add_delivery_area(pool, owner, "Dhaka city", "60", "1", "2")
            .await
            .unwrap();
        let instructions = format!("{mark} bKash: send money to 01711000000");
        store::add_payment_method(pool, owner, "bkash", &instructions)
            .await
            .unwrap();
        let answer = format!("{mark} answers: we open at ten.");
        store::add_faq(pool, owner, "when do you open", &answer).await.unwrap();
        let template = csv_import::parse_csv(csv_import::TEMPLATE_CSV.as_bytes());
        let import = store::save_preview(pool, owner, "csv", &template).await.unwrap();
        let display = format!("{mark} Fashion House");
        connect_messenger(pool, keys, &self.fake, owner, page.0, page.1, &display).await;
        let pending = channels::save_pending(
            pool,
            keys,
            owner,
            &Pending {
                meta_user_id: self.fake.user_id(),
                candidates: vec![Candidate {
                    platform: Platform::Messenger,
                    meta_id: page.0.into(),
                    parent_id: None,
                    display_name: display.clone(),
                    token: page.1.into(),
                }],
            },
        )
        .await
        .unwrap();

        let customer = format!("{mark}karim Uddin");
        for message in [
            "red cotton saree order korbo",
            "2 ta",
            &format!("amar nam {customer}"),
            "01712345678",
            "House 12, Road 5, Dhanmondi, Dhaka city",
            "ha confirm",
        ] {
            self.say(page.0, senders[0], message).await;
        }
        let payment = format!("I paid with bkash but the order is not confirmed, taka kete niyeche {mark}");
        self.say(page.0, senders[1], &payment).await;
        let question = format!("Do you have a branch in {mark}pur with parking?");
        self.say(page.0, senders[2], &question).await;

        let admin = self.admin().await;
        let id = |sql: &'static str| {
            let admin = admin.clone();
            async move {
                sqlx::query_scalar::<_, Uuid>(sql)
                    .bind(owner.as_uuid())
                    .fetch_one(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        };
        let order = id("select id from orders where owner_id = $1").await;
        let conversation = id("select conversation_id from orders where owner_id = $1").await;
        let review_to_approve =
            id("select id from review_items where owner_id = $1 and reason = 'payment_issue' and state = 'open'").await;
        let review_to_dismiss =
            id("select id from review_items where owner_id = $1 and reason = 'engine' and state = 'open'").await;
        let variant = id("select id from product_variants where owner_id = $1").await;
        let faq = id("select id from faq_entries where owner_id = $1").await;
        let area = id("select id from delivery_areas where owner_id = $1").await;
        let method = id("select id from payment_methods where owner_id = $1").await;
        let channel = id("select id from channels where owner_id = $1").await;

        // A second session: the one the owner may end from the first.
        let second = browser();
        let html = second
            .get(self.app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = csrf_token(&html).unwrap();
        let before: Vec<String> = sessions(&admin, owner).await;
        let login = second
            .post(self.app.url("/api/login"))
            .form(&[("email", email), ("password", OWNER_PASSWORD), ("csrf_token", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&login), "/dashboard");
        let other_session = sessions(&admin, owner)
            .await
            .into_iter()
            .find(|s| !before.contains(s))
            .unwrap();

        let mut secrets = vec![customer, sku, instructions, answer, payment, question, display];
        secrets.extend(
            [
                conversation,
                order,
                review_to_approve,
                review_to_dismiss,
                product,
                variant,
                faq,
                area,
                method,
                import,
                channel,
                pending,
            ]
            .map(|id| id.to_string()),
        );
        Tenant {
            client,
            owner,
            conversation,
            order,
            review_to_approve,
            review_to_dismiss,
            product,
            variant,
            faq,
            area,
            method,
            import,
            channel,
            pending,
            other_session,
            secrets,
        }
    }
}

async fn sessions(admin: &PgPool, owner: OwnerId) -> Vec<String> {
    sqlx::query_scalar("select encode(id_hash, 'hex') from sessions where account_id = $1")
        .bind(owner.as_uuid())
        .fetch_all(admin)
        .await
        .unwrap()
}

/// Everything an owner's forms can change, as one comparable text.
async fn snapshot(admin: &PgPool, owner: OwnerId) -> String {
    sqlx::query_scalar(
        "select concat_ws(' | ', \
           (select string_agg(id || ':' || mode || ':' || last_note, ',' order by id) from conversations where owner_id = $1), \
           (select string_agg(id || ':' || state, ',' order by id) from review_items where owner_id = $1), \
           (select string_agg(id || ':' || status, ',' order by id) from orders where owner_id = $1), \
           (select string_agg(id || ':' || name || ':' || coalesce(archived_at::text, '-'), ',' order by id) \
              from products where owner_id = $1), \
           (select string_agg(id::text, ',' order by id) from product_variants where owner_id = $1), \
           (select string_agg(id::text, ',' order by id) from faq_entries where owner_id = $1), \
           (select string_agg(id::text, ',' order by id) from delivery_areas where owner_id = $1), \
           (select string_agg(id::text, ',' order by id) from payment_methods where owner_id = $1), \
           (select string_agg(id || ':' || coalesce(imported_at::text, '-'), ',' order by id) \
              from catalog_imports where owner_id = $1), \
           (select string_agg(id || ':' || status, ',' order by id) from channels where owner_id = $1), \
           (select string_agg(id::text, ',' order by id) from pending_connections where owner_id = $1), \
           (select count(*) from outbound_sends where owner_id = $1), \
           (select count(*) from messages where owner_id = $1), \
           (select count(*) from customers where owner_id = $1), \
           (select string_agg(encode(id_hash, 'hex'), ',' order by id_hash) from sessions where account_id = $1))",
    )
    .bind(owner.as_uuid())
    .fetch_one(admin)
    .await
    .unwrap()
}

/// Every page that shows one object, by the object's id, and whether
/// another owner gets a 404 (else the page itself says it has nothing).
fn object_pages(t: &Tenant) -> Vec<(String, bool)> {
    vec![
        (format!("/inbox/{}", t.conversation), true),
        (format!("/inbox/{}/delete", t.conversation), true),
        (format!("/orders/{}", t.order), true),
        (format!("/catalog/{}", t.product), true),
        (format!("/catalog/import/{}", t.import), true),
        (format!("/channels/connect?pending={}", t.pending), false),
    ]
}

/// Every list page of an owner, and whether it lists the owner's objects.
const LIST_PAGES: &[(&str, bool)] = &[
    ("/dashboard", false),
    ("/inbox", true),
    ("/review", true),
    ("/orders", true),
    ("/catalog", true),
    ("/catalog?archived=1", true),
    ("/business", true),
    ("/rules", true),
    ("/channels", true),
    ("/sandbox", false),
    ("/account/security", false),
];

fn shows_any(body: &str, secrets: &[String]) -> bool {
    secrets.iter().any(|secret| body.contains(secret.as_str()))
}

/// Every form that takes an id, with the fields that act on `t`'s objects.
/// In this order each one changes something when `t`'s own owner sends it
/// (the destructive ones last).
fn id_forms(t: &Tenant) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let product = t.product.to_string();
    let conversation = t.conversation.to_string();
    vec![
        (
            "/api/save_product",
            vec![
                ("id", product.clone()),
                ("sku", "RENAMED-1".into()),
                ("name", "Renamed by the form".into()),
                ("name_bn", String::new()),
                ("description", String::new()),
                ("price", "999".into()),
                ("sale_price", String::new()),
                ("stock", "1".into()),
                ("tags", String::new()),
                ("image_urls", String::new()),
                ("active", "on".into()),
            ],
        ),
        (
            "/api/add_variant",
            vec![
                ("product_id", product.clone()),
                ("size", "S".into()),
                ("colour", "Blue".into()),
                ("price_delta", "0".into()),
                ("variant_stock", "1".into()),
            ],
        ),
        (
            "/api/remove_variant",
            vec![("product_id", product.clone()), ("variant_id", t.variant.to_string())],
        ),
        (
            "/api/archive_product",
            vec![("id", product.clone()), ("archive", "true".into())],
        ),
        ("/api/remove_faq", vec![("id", t.faq.to_string())]),
        ("/api/remove_delivery_area", vec![("id", t.area.to_string())]),
        ("/api/remove_payment_method", vec![("id", t.method.to_string())]),
        ("/api/confirm_import", vec![("id", t.import.to_string())]),
        ("/api/take_over", vec![("conversation", conversation.clone())]),
        ("/api/hand_back", vec![("conversation", conversation.clone())]),
        (
            "/api/owner_reply",
            vec![
                ("conversation", conversation.clone()),
                ("text", "Your order is on its way.".into()),
                ("idempotency_key", Uuid::new_v4().to_string()),
            ],
        ),
        (
            "/api/approve_review",
            vec![
                ("id", t.review_to_approve.to_string()),
                ("text", "We are checking your payment now.".into()),
            ],
        ),
        ("/api/dismiss_review", vec![("id", t.review_to_dismiss.to_string())]),
        (
            "/api/set_order_status",
            vec![("id", t.order.to_string()), ("status", "confirmed".into())],
        ),
        ("/api/revoke_session", vec![("key", t.other_session.clone())]),
        ("/api/pause_channel", vec![("id", t.channel.to_string())]),
        ("/api/resume_channel", vec![("id", t.channel.to_string())]),
        (
            "/api/connect_channels",
            vec![
                ("pending", t.pending.to_string()),
                ("choice", format!("messenger:{}", PAGES[0].0)),
            ],
        ),
        (
            "/api/delete_customer_data",
            vec![("conversation", conversation), ("confirm", "DELETE".into())],
        ),
        ("/api/disconnect_channel", vec![("id", t.channel.to_string())]),
    ]
}

/// Whether a form field names an object by its id.
fn takes_an_id(field: &str) -> bool {
    field == "id" || field.ends_with("_id") || matches!(field, "conversation" | "key" | "pending")
}

#[test]
fn every_owner_form_that_takes_an_id_is_in_the_matrix() {
    let dummy = Tenant {
        client: browser(),
        owner: OwnerId::from_verified(Uuid::nil()),
        conversation: Uuid::nil(),
        order: Uuid::nil(),
        review_to_approve: Uuid::nil(),
        review_to_dismiss: Uuid::nil(),
        product: Uuid::nil(),
        variant: Uuid::nil(),
        faq: Uuid::nil(),
        area: Uuid::nil(),
        method: Uuid::nil(),
        import: Uuid::nil(),
        channel: Uuid::nil(),
        pending: Uuid::nil(),
        other_session: String::new(),
        secrets: Vec::new(),
    };
    let forms = id_forms(&dummy);
    let mut checked = 0;
    for (path, params) in crate::bad_input::signatures() {
        let access = policy::lookup(&path).map(|p| p.audience);
        let owner_form = matches!(
            access,
            Some(Audience::Owner | Audience::VerifiedOwner | Audience::Authenticated)
        );
        if owner_form && params.iter().any(|p| takes_an_id(p)) {
            let row = forms.iter().find(|(p, _)| *p == path);
            let row = row.unwrap_or_else(|| panic!("{path} takes an id: add it to id_forms"));
            for param in params.iter().filter(|p| takes_an_id(p)) {
                assert!(
                    row.1.iter().any(|(field, _)| field == param),
                    "{path}: id_forms must fill {param}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, forms.len(), "every row of id_forms is a listed owner form");
}

/// Posts `fields` as `client` would from `page`, with its CSRF token.
async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, String)],
) -> reqwest::Response {
    let html = client.get(app.url(page)).send().await.unwrap().text().await.unwrap();
    let token = csrf_token(&html).unwrap();
    let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("csrf_token", &token));
    client
        .post(app.url(action))
        .header("origin", PUBLIC_URL)
        .header("referer", format!("{PUBLIC_URL}{page}"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_can_neither_see_nor_touch_another_owners_objects() {
    let world = World::new().await;
    let app = &world.app;
    let a = world
        .tenant("a@example.com", PAGES[0], "Alpha", ["5551111", "5551112", "5551113"])
        .await;
    let b = world
        .tenant("b@example.com", PAGES[1], "Bravo", ["5552221", "5552222", "5552223"])
        .await;
    let admin = world.admin().await;

    // Seeing: B gets "not found" for A's objects and sees nothing of A's
    // anywhere; A opens the same pages.
    for (path, not_found) in object_pages(&a) {
        let response = b.client.get(app.url(&path)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        if not_found {
            assert!(status == 404 || status == 403, "B opens {path}: {status}");
        } else {
            assert_eq!(status, 200, "B opens {path}");
        }
        for secret in &a.secrets {
            assert!(!body.contains(secret.as_str()), "B's {path} shows A's {secret}");
        }
        let own = a.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(own.status(), 200, "A opens {path}");
        let own = own.text().await.unwrap();
        assert!(shows_any(&own, &a.secrets), "A's {path} shows A's data");
    }
    for (path, lists_data) in LIST_PAGES {
        let response = b.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "B opens {path}");
        let body = response.text().await.unwrap();
        for secret in &a.secrets {
            assert!(!body.contains(secret.as_str()), "B's {path} shows A's {secret}");
        }
        if *lists_data {
            assert!(shows_any(&body, &b.secrets), "B's {path} shows B's own data");
            let own = a.client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
            assert!(shows_any(&own, &a.secrets), "A's {path} shows A's data");
        }
    }

    // Acting: every form that takes an id, sent by B with A's ids, changes
    // nothing of A's (nor of B's) and fails cleanly.
    let (a_before, b_before) = (snapshot(&admin, a.owner).await, snapshot(&admin, b.owner).await);
    for (action, fields) in id_forms(&a) {
        let response = post(app, &b.client, "/account/security", action, &fields).await;
        let status = response.status();
        assert!(status.is_redirection() || status == 404, "B sends {action}: {status}");
        assert_eq!(
            snapshot(&admin, a.owner).await,
            a_before,
            "B's {action} changed A's data"
        );
        assert_eq!(
            snapshot(&admin, b.owner).await,
            b_before,
            "B's {action} changed B's data"
        );
        if status.is_redirection() {
            let shown = b.client.get(app.url(&location(&response))).send().await.unwrap();
            let body = shown.text().await.unwrap();
            assert!(
                [
                    "exist any more",
                    "has expired",
                    "upload the file again",
                    "already ended"
                ]
                .iter()
                .any(|said| body.contains(said)),
                "B's {action} says what went wrong: {body}"
            );
        }
    }

    // The same forms from A act on A's objects: each row of the matrix is live.
    for (action, fields) in id_forms(&a) {
        let before = snapshot(&admin, a.owner).await;
        let response = post(app, &a.client, "/account/security", action, &fields).await;
        assert!(
            response.status().is_redirection(),
            "A sends {action}: {}",
            response.status()
        );
        assert_ne!(
            snapshot(&admin, a.owner).await,
            before,
            "A's own {action} changed nothing"
        );
    }
    assert_eq!(
        snapshot(&admin, b.owner).await,
        b_before,
        "A's forms changed nothing of B's"
    );
}

/// The library answers "not found" for a conversation the owner does not
/// have (not "already sent"), and queues nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_reply_to_a_conversation_the_owner_does_not_have_is_not_found() {
    let world = World::new().await;
    let a = world
        .tenant("a@example.com", PAGES[0], "Alpha", ["5551111", "5551112", "5551113"])
        .await;
    let b = world
        .tenant("b@example.com", PAGES[1], "Bravo", ["5552221", "5552222", "5552223"])
        .await;
    let admin = world.admin().await;
    let sends = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from outbound_sends")
            .fetch_one(&admin)
            .await
            .unwrap()
    };
    let before = sends().await;
    for conversation in [a.conversation, Uuid::new_v4()] {
        for _ in 0..2 {
            let outcome = world
                .pipeline
                .owner_reply(
                    b.owner,
                    conversation,
                    "Hello from B",
                    "same-key",
                    b.owner.as_uuid(),
                    &bikriagent::audit::RequestMeta::default(),
                )
                .await;
            assert!(
                matches!(outcome, Err(bikriagent::conversations::PipelineError::NotFound)),
                "{outcome:?}"
            );
        }
    }
    assert_eq!(sends().await, before, "nothing queued");
    // A double submit of the owner's own reply is still "already sent".
    for queued in [true, false] {
        let outcome = world
            .pipeline
            .owner_reply(
                b.owner,
                b.conversation,
                "Hello from B",
                "same-key",
                b.owner.as_uuid(),
                &bikriagent::audit::RequestMeta::default(),
            )
            .await
            .unwrap();
        assert_eq!(outcome, queued);
    }
    // Over HTTP: the flash says it does not exist.
    let response = post(
        &world.app,
        &b.client,
        &format!("/inbox/{}", b.conversation),
        "/api/owner_reply",
        &[
            ("conversation", a.conversation.to_string()),
            ("text", "Hello from B".into()),
            ("idempotency_key", "form-key".into()),
        ],
    )
    .await;
    let page = location(&response);
    let body = b
        .client
        .get(world.app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("That doesn't exist any more."), "{body}");
    assert!(!body.contains("already sent"), "{body}");
}
