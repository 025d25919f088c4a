//! Hostile text everywhere: every field an owner, a customer (a signed
//! webhook through the pipeline), an import or staff can set holds markup
//! that tries to end a `<textarea>` or `<title>`, add a meta refresh, an
//! image with an event handler, a `javascript:` link or a comment, with a
//! right-to-left override and Bangla. Every page is then rendered and parsed
//! with a real HTML parser (html5ever): no stored or reflected text became an
//! element or an attribute, and fields and titles hold the text as typed.

use std::collections::BTreeSet;
use std::time::Duration;

use bikriagent::auth::accounts::Role;
use bikriagent::meta::graph::Platform;
use bikriagent::meta::signature::hub_signature;
use bikriagent::tenancy::OwnerId;
use bikriagent_server::config::Config;
use bikriagent_server::startup;
use scraper::{ElementRef, Html, Node, Selector};
use uuid::Uuid;

use crate::helpers::{
    OWNER_PASSWORD, PUBLIC_URL, TestApp, app_with_fake_meta, browser, csrf_token, location, staff_client,
};
use crate::pipeline::{connect_page, messenger};

/// Every trick at once (under 200 characters, the longest name allowed).
const FULL: &str = concat!(
    "</textarea></title>",
    r#"<meta http-equiv=refresh content="0;url=https://evil.example/">"#,
    r#""><img src=x onerror=alert(1)>"#,
    r#"<a href="javascript:alert(1)">x</a>"#,
    "<!-- \u{202E}বাংলা লেখা ",
    r#"a < b & "c""#,
);

/// For fields of at most 100 characters.
const MID: &str = concat!(
    "</title></textarea>",
    r#"<meta http-equiv=refresh content="0;url=https://evil.example/">"#,
    "<!-- \u{202E}বাংলা",
);

/// For fields of at most 50 characters.
const SHORT: &str = r#"</textarea>"><img src=x onerror=alert(1)><!--"#;

/// Printable ASCII only, for an HTTP header.
const HEADER: &str =
    r#"</textarea><meta http-equiv=refresh content="0;url=https://evil.example/">"><img src=x onerror=alert(1)>"#;

fn full(tag: &str) -> String {
    format!("{tag} {FULL}")
}

fn mid(tag: &str) -> String {
    format!("{tag} {MID}")
}

fn short(tag: &str) -> String {
    format!("{tag} {SHORT}")
}

fn query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Who opens a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Owner,
    Staff,
}

/// One page to render and what it must show.
#[derive(Debug)]
struct Visit {
    /// The route pattern in app/src/lib.rs this page belongs to.
    route: &'static str,
    path: String,
    who: Who,
    /// Text the page must show as text (so it was rendered, not dropped).
    texts: Vec<String>,
    /// Form fields (textarea or input, by name) that must hold exactly this value.
    fields: Vec<(&'static str, String)>,
    /// The exact document title, where it comes from data.
    title: Option<String>,
}

impl Visit {
    fn new(route: &'static str, path: impl Into<String>, who: Who) -> Self {
        Self {
            route,
            path: path.into(),
            who,
            texts: Vec::new(),
            fields: Vec::new(),
            title: None,
        }
    }

    fn texts(mut self, texts: &[&str]) -> Self {
        self.texts.extend(texts.iter().map(|t| (*t).to_owned()));
        self
    }

    fn field(mut self, name: &'static str, value: &str) -> Self {
        self.fields.push((name, value.to_owned()));
        self
    }

    fn title(mut self, title: String) -> Self {
        self.title = Some(title);
        self
    }
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// What is wrong with a rendered page: markup that came from data, and
/// expected text or field values that are missing or changed.
fn problems(html: &str, visit: &Visit) -> Vec<String> {
    let document = Html::parse_document(html);
    let mut found = Vec::new();
    for node in document.tree.nodes() {
        match node.value() {
            Node::Element(element) => {
                let name = element.name();
                if ["script", "iframe", "object", "embed", "base", "frame", "style"].contains(&name) {
                    found.push(format!("a <{name}> element"));
                }
                if name == "img" && !element.attr("src").is_some_and(|src| src.starts_with("/assets/")) {
                    found.push(format!("an <img> that is not ours: {:?}", element.attr("src")));
                }
                if name == "meta" {
                    let content = element.attr("content").unwrap_or_default();
                    if content.to_ascii_lowercase().contains("url") {
                        found.push(format!("a <meta> that sends elsewhere: {content}"));
                    }
                    if element.attr("http-equiv").is_some() && !content.chars().all(|c| c.is_ascii_digit()) {
                        found.push(format!("a <meta http-equiv> that is not our own refresh: {content}"));
                    }
                }
                for (attribute, value) in element.attrs() {
                    if attribute.to_ascii_lowercase().starts_with("on") {
                        found.push(format!("an event handler attribute {attribute} on <{name}>"));
                    }
                    let lowered = value.trim().to_ascii_lowercase();
                    if ["href", "src", "action", "formaction"].contains(&attribute)
                        && (lowered.starts_with("javascript:") || lowered.starts_with("data:"))
                    {
                        found.push(format!("a script link {attribute}={value} on <{name}>"));
                    }
                    if !attribute
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == ':')
                    {
                        found.push(format!("a made-up attribute {attribute:?} on <{name}>"));
                    }
                }
            }
            // Leptos marks where leptos_meta puts the head's tags with `<!--HEAD-->`.
            Node::Comment(comment) if !comment.trim().is_empty() && &**comment != "HEAD" => {
                found.push(format!("a comment that swallowed text: {:?}", &**comment));
            }
            _ => {}
        }
    }
    let titles: Vec<ElementRef> = document.select(&selector("title")).collect();
    match titles.as_slice() {
        [title] => {
            let in_head = title
                .parent()
                .and_then(ElementRef::wrap)
                .is_some_and(|parent| parent.value().name() == "head");
            if !in_head {
                found.push("the <title> is not in <head>".to_owned());
            }
            let text: String = title.text().collect();
            if let Some(expected) = &visit.title
                && &text != expected
            {
                found.push(format!("the title is {text:?}, not {expected:?}"));
            }
        }
        other => found.push(format!("{} <title> elements", other.len())),
    }
    let text: String = document.root_element().text().collect();
    for expected in &visit.texts {
        if !text.contains(expected.as_str()) {
            found.push(format!("the text {expected:?} is not shown as text"));
        }
    }
    for (name, expected) in &visit.fields {
        let values: Vec<String> = document
            .select(&selector(&format!(r#"textarea[name="{name}"], input[name="{name}"]"#)))
            .map(|field| match field.value().name() {
                "textarea" => field.text().collect(),
                _ => field.value().attr("value").unwrap_or_default().to_owned(),
            })
            .collect();
        if !values.iter().any(|value| value == expected) {
            found.push(format!(
                "no field {name} holds {expected:?}; the fields hold {values:?}"
            ));
        }
    }
    found
}

/// A logged-in client's CSRF token, from a page with a form.
async fn token(app: &TestApp, client: &reqwest::Client, page: &str) -> String {
    let html = client.get(app.url(page)).send().await.unwrap().text().await.unwrap();
    csrf_token(&html).unwrap_or_else(|| panic!("a CSRF token on {page}"))
}

/// Posts a form as a browser would from `page`; returns the redirect target.
async fn post(app: &TestApp, client: &reqwest::Client, page: &str, action: &str, fields: &[(&str, &str)]) -> String {
    let token = token(app, client, page).await;
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    let response = client
        .post(app.url(action))
        .header("origin", PUBLIC_URL)
        .header("referer", format!("{PUBLIC_URL}{page}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    location(&response)
}

/// The form's flash was a success (no field errors on the page it went back to).
async fn saved(app: &TestApp, client: &reqwest::Client, page: &str, action: &str, fields: &[(&str, &str)]) -> String {
    let to = post(app, client, page, action, fields).await;
    let html = client.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("field-error") && !html.contains(r#"class="notice error""#),
        "{action} was refused: {html}"
    );
    to
}

/// Waits until the app's worker has run every job that is due.
async fn settle(app: &TestApp) {
    let admin = app.db.admin_pool().await;
    for _ in 0..600 {
        let due: i64 =
            sqlx::query_scalar("select count(*) from jobs where state in ('queued', 'running') and run_at <= now()")
                .fetch_one(&admin)
                .await
                .unwrap();
        if due == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker did not finish the queued jobs");
}

/// A customer's message, delivered by Meta with its signature, then processed.
async fn customer_says(app: &TestApp, mid: &str, sender: &str, text: &str) {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let body = messenger(mid, sender, text, now_ms);
    let response = app
        .client
        .post(app.url("/webhooks/meta"))
        .header("x-hub-signature-256", hub_signature(b"test-app-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    settle(app).await;
}

/// Uploads a CSV file; returns the preview page.
async fn upload(app: &TestApp, client: &reqwest::Client, csv: String) -> String {
    let html = client
        .get(app.url("/catalog/import"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find("/api/import_csv?csrf_token=").unwrap() + "/api/import_csv?csrf_token=".len();
    let token = &html[start..start + 43];
    let part = reqwest::multipart::Part::bytes(csv.into_bytes())
        .file_name("products.csv")
        .mime_str("text/csv")
        .unwrap();
    let response = client
        .post(app.url(&format!("/api/import_csv?csrf_token={token}")))
        .header("origin", PUBLIC_URL)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let to = location(&response);
    assert!(to.starts_with("/catalog/import/"), "the upload was previewed: {to}");
    to
}

/// Renders every visit with the client of its kind; returns what is wrong.
async fn render(
    app: &TestApp,
    visits: &[Visit],
    owner: &reqwest::Client,
    staff: Option<&reqwest::Client>,
) -> Vec<String> {
    let anonymous = browser();
    let mut report = Vec::new();
    for visit in visits {
        let client = match visit.who {
            Who::Anonymous => &anonymous,
            Who::Owner => owner,
            Who::Staff => staff.expect("a staff client"),
        };
        let response = client.get(app.url(&visit.path)).send().await.unwrap();
        let status = response.status();
        let html = response.text().await.unwrap();
        // A hostile address gets 404, or 400 when it is not canonical (an encoded slash).
        if !(status.is_success() || (matches!(status.as_u16(), 400 | 404) && visit.who == Who::Anonymous)) {
            report.push(format!("{} answered {status}", visit.path));
            continue;
        }
        for problem in problems(&html, visit) {
            report.push(format!("{}: {problem}", visit.path));
        }
    }
    report
}

/// A CSV field, quoted.
fn csv_field(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// The route patterns of app/src/lib.rs.
fn app_routes() -> BTreeSet<String> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/src/lib.rs")).unwrap();
    source
        .split("path!(\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_in_every_field_stays_text_on_every_page() {
    let (app, fake) = app_with_fake_meta().await;
    let admin = app.db.admin_pool().await;

    // ---- the owner: signup fields, and a session with a hostile browser name.
    let email = "hostile@example.com";
    let (owner_name, business_name) = (mid("ON"), mid("BN"));
    let owner = browser();
    let signup_token = token(&app, &owner, "/signup").await;
    owner
        .post(app.url("/api/signup"))
        .form(&[
            ("name", owner_name.as_str()),
            ("email", email),
            ("phone", "01911-000000"),
            ("business_name", business_name.as_str()),
            ("password", OWNER_PASSWORD),
            ("password_confirm", OWNER_PASSWORD),
            ("csrf_token", &signup_token),
        ])
        .send()
        .await
        .unwrap();
    sqlx::query(
        "update accounts set email_verified_at = now(), payment_verified_at = now(), status = 'active' where email = $1",
    )
    .bind(email)
    .execute(&admin)
    .await
    .unwrap();
    let login_token = token(&app, &owner, "/login").await;
    let response = owner
        .post(app.url("/api/login"))
        .header("user-agent", HEADER)
        .form(&[
            ("email", email),
            ("password", OWNER_PASSWORD),
            ("csrf_token", &login_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/dashboard");
    let owner_id: Uuid = sqlx::query_scalar("select id from accounts where email = $1")
        .bind(email)
        .fetch_one(&admin)
        .await
        .unwrap();

    // ---- the catalog: a plain product to order, and a hostile one with a variant.
    saved(
        &app,
        &owner,
        "/catalog/new",
        "/api/save_product",
        &[
            ("sku", "SAREE-1"),
            ("name", "Red Cotton Saree"),
            ("name_bn", "লাল সুতি শাড়ি"),
            ("description", "Soft cotton"),
            ("price", "1250"),
            ("sale_price", ""),
            ("stock", "3"),
            ("tags", "saree"),
            ("image_urls", ""),
            ("active", "on"),
        ],
    )
    .await;
    let (product_name, product_bn, description) = (full("PN"), full("PB"), full("PD"));
    let (tag_one, tag_two) = ("T1 <img src=x onerror=alert(1)>", "T2 </textarea><!--");
    let tags = format!("{tag_one}; {tag_two}");
    let product_page = saved(
        &app,
        &owner,
        "/catalog/new",
        "/api/save_product",
        &[
            ("sku", "HOSTILE-1"),
            ("name", &product_name),
            ("name_bn", &product_bn),
            ("description", &description),
            ("price", "500"),
            ("sale_price", ""),
            ("stock", "5"),
            ("tags", &tags),
            ("image_urls", ""),
            ("active", "on"),
        ],
    )
    .await;
    let product_id = product_page.trim_start_matches("/catalog/").to_owned();
    assert!(product_id.parse::<Uuid>().is_ok(), "{product_page}");
    let (size, colour) = (short("S"), short("C"));
    saved(
        &app,
        &owner,
        &product_page,
        "/api/add_variant",
        &[
            ("product_id", &product_id),
            ("size", &size),
            ("colour", &colour),
            ("price_delta", ""),
            ("variant_stock", "2"),
        ],
    )
    .await;

    // ---- delivery, payment, links and an FAQ whose answer the filter holds back.
    saved(
        &app,
        &owner,
        "/business",
        "/api/add_delivery_area",
        &[
            ("area_name", "Dhaka city"),
            ("charge", "60"),
            ("min_days", "1"),
            ("max_days", "2"),
        ],
    )
    .await;
    let area = mid("DA");
    saved(
        &app,
        &owner,
        "/business",
        "/api/add_delivery_area",
        &[
            ("area_name", &area),
            ("charge", "100"),
            ("min_days", "2"),
            ("max_days", "4"),
        ],
    )
    .await;
    let instructions = full("PM");
    saved(
        &app,
        &owner,
        "/business",
        "/api/add_payment_method",
        &[("kind", "bkash"), ("instructions", &instructions)],
    )
    .await;
    let address = full("AD");
    saved(
        &app,
        &owner,
        "/business",
        "/api/save_contact",
        &[
            ("contact_phone", "01711-000000"),
            ("address", &address),
            ("bot_disclosure", "on"),
            ("link_domains", "rahima.shop"),
        ],
    )
    .await;
    let pattern = short("FQ");
    let patterns = format!("gift wrap\n{pattern}");
    let answer = full("FA");
    saved(
        &app,
        &owner,
        "/rules",
        "/api/add_faq",
        &[("patterns", &patterns), ("answer", &answer)],
    )
    .await;

    // ---- a channel named by its owner on Facebook, and one waiting to be chosen.
    let config = Config::from_vars(app.env.clone()).unwrap();
    let keys = startup::data_keys(&config);
    let tenant = OwnerId::from_verified(owner_id);
    let page_name = mid("CH");
    connect_page(&app.pool, &keys, &fake, tenant, &page_name).await;
    let candidate_name = mid("CA");
    let pending = bikriagent::channels::save_pending(
        &app.pool,
        &keys,
        tenant,
        &bikriagent::channels::Pending {
            meta_user_id: fake.user_id(),
            candidates: vec![bikriagent::channels::Candidate {
                platform: Platform::Messenger,
                meta_id: "1000000009".into(),
                parent_id: None,
                display_name: candidate_name.clone(),
                token: "EAAGfakePageToken1000000009".into(),
            }],
        },
    )
    .await
    .unwrap();

    // ---- customers, through signed webhooks and the pipeline.
    let message = full("CM");
    customer_says(&app, "m_hostile_1", "5557001", &message).await;
    customer_says(&app, "m_hostile_2", "5557002", "gift wrap ache?").await;
    let delivery_address = format!("House 12, Road 5, Dhaka city {SHORT} \u{202E}বাংলা লেখা");
    for (n, text) in [
        "red cotton saree order korbo",
        "2 ta",
        "amar nam Karim Uddin",
        "01712345678",
        delivery_address.as_str(),
        "ha confirm",
    ]
    .into_iter()
    .enumerate()
    {
        customer_says(&app, &format!("m_hostile_order_{n}"), "5557003", text).await;
    }
    let held_address = format!("House 7, Road 1, Dhaka city {MID}");
    for (n, text) in [
        "red cotton saree order korbo",
        "1 ta",
        "amar nam Rahim",
        "01812345678",
        held_address.as_str(),
    ]
    .into_iter()
    .enumerate()
    {
        customer_says(&app, &format!("m_hostile_held_{n}"), "5557004", text).await;
    }
    let conversation: Uuid = sqlx::query_scalar(
        "select c.id from conversations c join customers u on u.id = c.customer_id where u.sender_hash = $1",
    )
    .bind(keys.lookup_hash("5557001"))
    .fetch_one(&admin)
    .await
    .unwrap();
    let order_id: Uuid = sqlx::query_scalar("select id from orders")
        .fetch_one(&admin)
        .await
        .expect("the customer's order was placed");
    // Held drafts quote the customer's address, the business name and the FAQ answer.
    let (cases, _) = bikriagent::conversations::review_queue(&app.pool, &keys, tenant)
        .await
        .unwrap();
    let drafts: Vec<String> = cases.iter().filter_map(|case| case.draft.clone()).collect();
    assert!(
        drafts.iter().any(|d| d.contains(&answer)) && drafts.iter().any(|d| d.contains(&held_address)),
        "{drafts:#?}"
    );

    // ---- the owner answers, tries the sandbox, and imports a file.
    let reply = full("OR");
    let conversation_page = format!("/inbox/{conversation}");
    let key = Uuid::new_v4().to_string();
    post(
        &app,
        &owner,
        &conversation_page,
        "/api/owner_reply",
        &[
            ("conversation", &conversation.to_string()),
            ("text", &reply),
            ("idempotency_key", &key),
        ],
    )
    .await;
    let sandbox_text = full("SB");
    post(&app, &owner, "/sandbox", "/api/sandbox_say", &[("text", &sandbox_text)]).await;
    settle(&app).await;
    let (import_name, import_bn, import_description) = (full("IN"), full("IB"), full("ID"));
    let good = format!(
        "sku,name,name_bn,description,price,stock,tags\nIMPORT-1,{},{},{},900,4,{}\n",
        csv_field(&import_name),
        csv_field(&import_bn),
        csv_field(&import_description),
        csv_field("I1 <img src=x onerror=alert(1)>"),
    );
    let good_preview = upload(&app, &owner, good).await;
    let import_id = good_preview.trim_start_matches("/catalog/import/").to_owned();
    saved(
        &app,
        &owner,
        &good_preview,
        "/api/confirm_import",
        &[("id", &import_id)],
    )
    .await;
    let bad_sku = short("K");
    let bad = format!(
        "sku,name,price\n{},{},{}\n",
        csv_field(&bad_sku),
        csv_field(&full("KN")),
        csv_field(MID)
    );
    let bad_preview = upload(&app, &owner, bad).await;

    // ---- rules last: greetings and holding messages would hold back the replies above.
    let (greeting, away, holding) = (full("GR"), full("AW"), full("HM"));
    let (never, topic) = (short("NS"), short("RT"));
    saved(
        &app,
        &owner,
        "/rules",
        "/api/save_rules",
        &[
            ("tone", "friendly"),
            ("never_say", &never),
            ("review_topics", &topic),
            ("greeting", &greeting),
            ("away_message", &away),
            ("holding_message", &holding),
        ],
    )
    .await;
    // The business name from the signup form stays (the staff pages show it).
    let profile_name = business_name.clone();
    let (city, hours, policy) = (mid("CY"), full("OH"), full("RP"));
    saved(
        &app,
        &owner,
        "/business",
        "/api/save_profile",
        &[
            ("name", &profile_name),
            ("description", &description),
            ("city", &city),
            ("currency", "BDT"),
            ("answers_english", "on"),
            ("opening_hours", &hours),
            ("return_policy", &policy),
        ],
    )
    .await;

    // ---- the owner's pages.
    let review_case: Uuid = sqlx::query_scalar("select id from review_items order by created_at limit 1")
        .fetch_one(&admin)
        .await
        .unwrap();
    let product_title = format!("{product_name} · BikriAgent");
    let mut visits = vec![
        Visit::new("/", "/", Who::Owner),
        Visit::new("/dashboard", "/dashboard", Who::Owner).texts(&[&owner_name]),
        Visit::new("/account/security", "/account/security", Who::Owner).texts(&[HEADER]),
        Visit::new("/business", "/business", Who::Owner)
            .texts(&[&area, &instructions])
            .field("name", &profile_name)
            .field("description", &description)
            .field("city", &city)
            .field("opening_hours", &hours)
            .field("return_policy", &policy)
            .field("address", &address),
        Visit::new("/catalog", "/catalog", Who::Owner).texts(&[&product_name, &product_bn, &import_name, &import_bn]),
        Visit::new("/catalog", format!("/catalog?q={}", query(FULL)), Who::Owner).field("q", FULL),
        Visit::new("/catalog/new", "/catalog/new", Who::Owner),
        Visit::new("/catalog/import", "/catalog/import", Who::Owner),
        Visit::new("/catalog/import/:id", bad_preview.clone(), Who::Owner).texts(&[&bad_sku]),
        Visit::new("/catalog/import/:id", good_preview.clone(), Who::Owner),
        Visit::new("/catalog/:id", product_page.clone(), Who::Owner)
            .title(product_title)
            .texts(&[&product_name, &size, &colour])
            .field("name", &product_name)
            .field("name_bn", &product_bn)
            .field("description", &description)
            .field("tags", &tags),
        Visit::new("/rules", "/rules", Who::Owner)
            .texts(&[&answer, &pattern])
            .field("greeting", &greeting)
            .field("away_message", &away)
            .field("holding_message", &holding)
            .field("never_say", &never)
            .field("review_topics", &topic),
        Visit::new("/channels", "/channels", Who::Owner).texts(&[&page_name]),
        Visit::new(
            "/channels/connect",
            format!("/channels/connect?pending={pending}"),
            Who::Owner,
        )
        .texts(&[&candidate_name]),
        Visit::new("/inbox", "/inbox", Who::Owner).texts(&[&page_name]),
        Visit::new("/inbox/:id", conversation_page.clone(), Who::Owner).texts(&[&message, &reply, &page_name]),
        Visit::new("/inbox/:id/delete", format!("/inbox/{conversation}/delete"), Who::Owner),
        drafts.iter().fold(
            Visit::new("/review", "/review", Who::Owner).texts(&[&message, &held_address]),
            |visit, draft| visit.field("text", draft),
        ),
        Visit::new("/orders", "/orders", Who::Owner).texts(&["Karim Uddin"]),
        Visit::new("/orders/:id", format!("/orders/{order_id}"), Who::Owner).texts(&[SHORT]),
        Visit::new(
            "/playground",
            format!("/playground?message={}", query(FULL)),
            Who::Owner,
        )
        .field("message", FULL),
        Visit::new(
            "/playground",
            format!("/playground?message={}", query("\nfirst line")),
            Who::Owner,
        )
        .field("message", "\nfirst line"),
        Visit::new("/sandbox", "/sandbox", Who::Owner).texts(&[&sandbox_text]),
    ];

    // Rendered now: the staff suspend this owner below.
    let owner_visits = visits.len();
    let report = render(&app, &visits, &owner, None).await;
    assert!(report.is_empty(), "{}", report.join("\n"));

    // The failed form refills its fields with what was typed.
    let refused = post(
        &app,
        &owner,
        "/business",
        "/api/save_profile",
        &[
            ("name", &profile_name),
            ("description", FULL),
            ("city", &city),
            ("currency", "not a currency"),
            ("answers_english", "on"),
            ("opening_hours", &hours),
            ("return_policy", &policy),
        ],
    )
    .await;
    assert_eq!(refused, "/business");
    let html = owner
        .get(app.url("/business"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refilled = Visit::new("/business", "/business", Who::Owner)
        .field("description", FULL)
        .field("currency", "not a currency");
    assert_eq!(problems(&html, &refilled), Vec::<String>::new());

    // ---- staff: a payment reference, a suspension reason, a deletion request, the kill switch.
    let (staff, _) = staff_client(&app, "root@bikriagent.example", Role::Admin).await;
    let owner_page = format!("/staff/owners/{owner_id}");
    let reference = full("RF");
    post(
        &app,
        &staff,
        &owner_page,
        "/api/staff_record_payment",
        &[
            ("owner_id", &owner_id.to_string()),
            ("amount", "500"),
            ("currency", "BDT"),
            ("method", bikriagent::owners::PAYMENT_METHODS[0]),
            ("reference", &reference),
        ],
    )
    .await;
    let request = full("RQ");
    post(
        &app,
        &staff,
        &owner_page,
        "/api/staff_delete_customer",
        &[
            ("owner_id", &owner_id.to_string()),
            ("sender_id", "5559999"),
            ("request", &request),
        ],
    )
    .await;
    let switch_reason = full("KS");
    post(
        &app,
        &staff,
        "/staff/kill-switch",
        "/api/set_kill_switch",
        &[("engage", "on"), ("reason", &switch_reason)],
    )
    .await;
    let suspension = full("SU");
    post(
        &app,
        &staff,
        &owner_page,
        "/api/staff_suspend",
        &[("owner_id", &owner_id.to_string()), ("reason", &suspension)],
    )
    .await;
    let staff_name = mid("SN");
    sqlx::query("update accounts set name = $1 where email = 'root@bikriagent.example'")
        .bind(&staff_name)
        .execute(&admin)
        .await
        .unwrap();
    visits.extend([
        Visit::new("/staff", "/staff", Who::Staff).texts(&[&staff_name]),
        Visit::new("/staff/totp", "/staff/totp", Who::Staff),
        Visit::new("/staff/channels", "/staff/channels", Who::Staff).texts(&[&page_name]),
        Visit::new(
            "/staff/owners",
            format!("/staff/owners?email={}", query(FULL)),
            Who::Staff,
        )
        .field("email", FULL),
        Visit::new("/staff/owners", format!("/staff/owners?email={email}"), Who::Staff).texts(&[&profile_name]),
        Visit::new("/staff/owners/:id", owner_page.clone(), Who::Staff).texts(&[
            &owner_name,
            &profile_name,
            &reference,
            &suspension,
            &page_name,
        ]),
        Visit::new(
            "/staff/owners/:id/cases/:case",
            format!("/staff/owners/{owner_id}/cases/{review_case}"),
            Who::Staff,
        )
        .texts(&[&message]),
        Visit::new(
            "/staff/audit",
            format!("/staff/audit?kind={}&email={}", query(FULL), query(MID)),
            Who::Staff,
        )
        .field("kind", FULL)
        .field("email", MID),
        Visit::new("/staff/audit", "/staff/audit", Who::Staff),
        Visit::new("/staff/kill-switch", "/staff/kill-switch", Who::Staff).texts(&[&switch_reason]),
    ]);

    // ---- public pages, with hostile query parameters.
    visits.extend([
        Visit::new("/signup", "/signup", Who::Anonymous),
        Visit::new("/login", "/login", Who::Anonymous),
        Visit::new(
            "/verify-email",
            format!("/verify-email?token={}", query(FULL)),
            Who::Anonymous,
        )
        .field("token", FULL),
        Visit::new("/forgot-password", "/forgot-password", Who::Anonymous),
        Visit::new(
            "/reset-password",
            format!("/reset-password?token={}", query(FULL)),
            Who::Anonymous,
        )
        .field("token", FULL),
        Visit::new(
            "/meta/deletion-status",
            format!("/meta/deletion-status?code={}", query(MID)),
            Who::Anonymous,
        ),
        Visit::new("/suspended", "/suspended", Who::Anonymous),
        Visit::new("/", format!("/{}", query(MID)), Who::Anonymous),
    ]);

    let report = render(&app, &visits[owner_visits..], &owner, Some(&staff)).await;
    assert!(report.is_empty(), "{}", report.join("\n"));

    let visited: BTreeSet<String> = visits.iter().map(|v| v.route.to_owned()).collect();
    assert_eq!(
        visited,
        app_routes(),
        "every route of the app is rendered with hostile data"
    );
}

/// The checks themselves catch what they are for: unescaped markup fails them.
#[test]
fn the_page_checks_catch_injected_markup() {
    let page = |body: &str| format!("<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>");
    let visit = Visit::new("/", "/", Who::Owner).field("text", FULL).texts(&[FULL]);
    let escaped = escape(FULL);
    assert_eq!(
        problems(&page(&format!("<textarea name=text>{escaped}</textarea>")), &visit),
        Vec::<String>::new()
    );
    let raw = problems(&page(&format!("<textarea name=text>{FULL}</textarea>")), &visit);
    for expected in [
        "a <meta>",
        "an <img>",
        "event handler",
        "script link",
        "comment",
        "no field text",
    ] {
        assert!(
            raw.iter().any(|p| p.contains(expected)),
            "{expected} not reported: {raw:#?}"
        );
    }
    let title = problems(
        &format!("<!DOCTYPE html><html><head><title>{FULL}</title></head><body></body></html>"),
        &Visit::new("/", "/", Who::Owner).title(FULL.to_owned()),
    );
    assert!(title.iter().any(|p| p.contains("the title is")), "{title:#?}");
}

/// `&`, `<` and `>` as character references (what the app's escaping does).
fn escape(value: &str) -> String {
    value.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
