//! The staff console and the owner lifecycle: what each state may do at the
//! send gate, trial allowances, daily limits, suspension mid-conversation,
//! the kill switch across workers, and who may open the staff pages.

use std::time::Duration;

use bikriagent::audit::RequestMeta;
use bikriagent::auth::accounts::Role;
use bikriagent::jobs::{self, WorkerOptions};
use bikriagent::owners::{self, Allowance, OwnerState};
use uuid::Uuid;

use crate::helpers::{PUBLIC_URL, csrf_token, insert_staff, location, spawn_app, staff_client, verified_owner};
use crate::pipeline::{Shop, shop};

async fn set_trial(shop: &Shop) {
    sqlx::query("update accounts set payment_verified_at = null where id = $1")
        .bind(shop.owner.as_uuid())
        .execute(&shop.db.admin_pool().await)
        .await
        .unwrap();
}

async fn last_block(shop: &Shop) -> Option<String> {
    shop.scalar("select blocked_by from outbound_sends order by created_at desc limit 1")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_owner_gets_live_replies_only_within_the_allowance_staff_grant() {
    let shop = shop().await;
    set_trial(&shop).await;
    let mut conn = shop.pool.acquire().await.unwrap();
    assert_eq!(
        owners::standing(&mut conn, shop.owner.as_uuid()).await.unwrap().state,
        OwnerState::Trial
    );
    drop(conn);
    shop.say("5570001", "saree dam koto?").await;
    assert!(
        shop.fake.sent().is_empty(),
        "a trial owner without an allowance gets no live auto-send"
    );
    assert_eq!(last_block(&shop).await.as_deref(), Some("not_verified"));

    let staff = insert_staff(&shop.db, "sadia@bikriagent.example", Role::Staff).await;
    owners::grant_allowance(
        &shop.pool,
        shop.owner.as_uuid(),
        Allowance {
            channels: 1,
            daily_replies: 2,
        },
        staff,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    for i in 0..3 {
        shop.say(&format!("557001{i}"), "saree dam koto?").await;
    }
    assert_eq!(shop.fake.sent().len(), 2, "the allowance is two replies a day");
    assert_eq!(last_block(&shop).await.as_deref(), Some("owner_daily_limit"));
    shop.say("5570019", "saree dam koto?").await;
    assert_eq!(
        shop.scalar::<i64>("select count(*) from mail_outbox where kind = 'daily_limit_reached'")
            .await,
        1,
        "the owner is told once a day"
    );
    // Payment verified: the platform's limits apply.
    let recorded = owners::record_payment(
        &shop.pool,
        &shop.pipeline.keys,
        shop.owner.as_uuid(),
        &owners::Payment {
            amount_minor: 150_000,
            currency: "bdt",
            method: "bkash",
            reference: "8N7A6B5C",
            stripe_event_id: None,
        },
        Some(staff),
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    assert!(recorded);
    shop.say("5570020", "saree dam koto?").await;
    assert_eq!(shop.fake.sent().len(), 3);
    assert_eq!(
        shop.scalar::<i64>("select count(*) from security_events where kind = 'payment_verified'")
            .await,
        1
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from mail_outbox where kind = 'payment_verified'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_mid_conversation_stops_the_next_send() {
    let shop = shop().await;
    shop.say("5570002", "saree dam koto?").await;
    assert_eq!(shop.fake.sent().len(), 1);
    // A reply already decided, then the owner is suspended before it is sent.
    let body = crate::pipeline::messenger("m_pending", "5570002", "delivery charge koto?", shop.now_ms());
    shop.deliver(&body).await;
    let inbound: Uuid = shop
        .scalar("select id from inbound_messages where provider_message_id = 'm_pending'")
        .await;
    let message = shop.pipeline.process_inbound(inbound).await.unwrap().unwrap();
    shop.pipeline.decide(shop.owner, message).await.unwrap();
    let config = bikriagent_server::config::Config::from_vars(crate::helpers::test_env(&shop.db.url)).unwrap();
    let services = bikriagent_server::startup::services(&shop.pool, &config, std::sync::Arc::new(shop.clock.clone()));
    let staff = insert_staff(&shop.db, "sadia@bikriagent.example", Role::Staff).await;
    services
        .accounts
        .suspend(
            shop.owner.as_uuid(),
            "selling counterfeit goods",
            staff,
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    shop.drain().await;
    assert_eq!(shop.fake.sent().len(), 1, "the decided reply did not go out");
    assert_eq!(last_block(&shop).await.as_deref(), Some("owner_not_active"));
    shop.say("5570002", "hello?").await;
    assert_eq!(shop.fake.sent().len(), 1, "nothing after the suspension");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_stops_sends_from_every_worker_at_once() {
    let shop = shop().await;
    // Three replies decided and queued.
    for i in 0..3 {
        let body = crate::pipeline::messenger(
            &format!("m_k{i}"),
            &format!("55700{i}9"),
            "saree dam koto?",
            shop.now_ms(),
        );
        shop.deliver(&body).await;
    }
    // Record and decide, but not send: the steps one by one leave each
    // reply queued as a send job.
    let inbound: Vec<Uuid> = sqlx::query_scalar("select id from inbound_messages order by provider_message_id")
        .fetch_all(&shop.db.admin_pool().await)
        .await
        .unwrap();
    for id in inbound {
        let message = shop.pipeline.process_inbound(id).await.unwrap().unwrap();
        shop.pipeline.decide(shop.owner, message).await.unwrap();
    }
    assert_eq!(
        shop.scalar::<i64>("select count(*) from outbound_sends where state = 'decided'")
            .await,
        3
    );
    let admin: Uuid = sqlx::query_scalar(
        "insert into accounts (role, email, name, password_hash, status, email_verified_at) \
         values ('admin', 'admin@bikriagent.example', 'Admin', 'x', 'active', now()) returning id",
    )
    .fetch_one(&shop.db.admin_pool().await)
    .await
    .unwrap();
    owners::set_kill_switch(
        &shop.pool,
        &shop.pipeline.keys,
        true,
        "a bad LLM release",
        admin,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    // Two workers, as two app instances would run.
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..2 {
        workers.spawn(jobs::run_worker(
            shop.pool.clone(),
            shop.registry(),
            WorkerOptions {
                lease: Duration::from_secs(60),
                idle_poll: Duration::from_millis(20),
            },
            stop_rx.clone(),
        ));
    }
    for _ in 0..200 {
        let left: i64 = shop
            .scalar("select count(*) from jobs where state in ('queued', 'running')")
            .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    while workers.join_next().await.is_some() {}
    assert!(shop.fake.sent().is_empty(), "no worker sent anything");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from outbound_sends where blocked_by = 'kill_switch'")
            .await,
        3
    );
    assert_eq!(
        shop.scalar::<i64>("select count(*) from mail_outbox where kind = 'kill_switch_engaged'")
            .await,
        1,
        "admins are told"
    );
    owners::set_kill_switch(
        &shop.pool,
        &shop.pipeline.keys,
        false,
        "fixed",
        admin,
        &RequestMeta::default(),
    )
    .await
    .unwrap();
    shop.say("5570003", "saree dam koto?").await;
    assert_eq!(shop.fake.sent().len(), 1, "released: replies flow again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_review_verify_limit_and_suspend_owners_and_owners_cannot() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "shop@example.com").await;
    let owner_id: Uuid = sqlx::query_scalar("select id from accounts where email = 'shop@example.com'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    sqlx::query("update accounts set payment_verified_at = null where id = $1")
        .bind(owner_id)
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();
    // Owners cannot open staff pages or call staff functions.
    assert_eq!(owner.get(app.url("/staff/owners")).send().await.unwrap().status(), 403);
    let page = owner
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&page).unwrap_or_default();
    let refused = owner
        .post(app.url("/api/staff_suspend"))
        .header("origin", PUBLIC_URL)
        .form(&[
            ("owner_id", owner_id.to_string().as_str()),
            ("reason", "x"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let (staff, _) = staff_client(&app, "sadia@bikriagent.example", Role::Staff).await;
    let list = staff
        .get(app.url("/staff/owners"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("shop@example.com") && list.contains("waiting for payment verification"),
        "{list}"
    );
    let detail_url = app.url(&format!("/staff/owners/{owner_id}"));
    let detail = staff.get(&detail_url).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("trial"), "{detail}");
    let token = csrf_token(&detail).unwrap();
    let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let staff = staff.clone();
        let url = app.url(path);
        let token = token.clone();
        async move {
            let mut form = fields;
            form.push(("csrf_token", token));
            staff
                .post(url)
                .header("origin", PUBLIC_URL)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let id = owner_id.to_string();
    let response = post(
        "/api/staff_record_payment",
        vec![
            ("owner_id", id.clone()),
            ("amount", "1,500".into()),
            ("currency", "BDT".into()),
            ("method", "bkash".into()),
            ("reference", "9X8Y7Z".into()),
        ],
    )
    .await;
    assert_eq!(location(&response), format!("/staff/owners/{owner_id}"));
    let detail = staff.get(&detail_url).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("data-state=\"verified\""), "{detail}");
    assert!(detail.contains("9X8Y7Z"), "the payment is listed");
    post(
        "/api/staff_set_limits",
        vec![
            ("owner_id", id.clone()),
            ("owner_daily", "50".into()),
            ("channel_daily", "".into()),
        ],
    )
    .await;
    let limit: Option<i32> = sqlx::query_scalar("select owner_daily_limit from accounts where id = $1")
        .bind(owner_id)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert_eq!(limit, Some(50));
    // A suspension needs a reason, then ends the owner's sessions at once.
    post(
        "/api/staff_suspend",
        vec![("owner_id", id.clone()), ("reason", "  ".into())],
    )
    .await;
    assert_eq!(
        owner.get(app.url("/dashboard")).send().await.unwrap().status(),
        200,
        "no reason, no suspension"
    );
    post(
        "/api/staff_suspend",
        vec![
            ("owner_id", id.clone()),
            ("reason", "scam reports from customers".into()),
        ],
    )
    .await;
    let after = owner.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(location(&after), "/login", "the owner's session ended");
    let events: Vec<String> = sqlx::query_scalar(
        "select kind::text from security_events where account_id = $1 and actor_id is not null order by id",
    )
    .bind(owner_id)
    .fetch_all(&app.db.admin_pool().await)
    .await
    .unwrap();
    for kind in ["payment_verified", "limits_changed", "account_suspended"] {
        assert!(
            events.iter().any(|e| e == kind),
            "{kind} audited with the staff member: {events:?}"
        );
    }
    let audit = staff
        .get(app.url("/staff/audit?kind=account_suspended"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("scam reports from customers") && audit.contains("sadia@bikriagent.example"),
        "{audit}"
    );
    // Staff (not admin) cannot use the kill switch; an admin can, and every page shows it.
    let refused = post(
        "/api/set_kill_switch",
        vec![("engage", "on".into()), ("reason", "test".into())],
    )
    .await;
    assert_eq!(refused.status(), 403);
    let (admin, _) = staff_client(&app, "root@bikriagent.example", Role::Admin).await;
    let page = admin
        .get(app.url("/staff/kill-switch"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&page).unwrap();
    let response = admin
        .post(app.url("/api/set_kill_switch"))
        .header("origin", PUBLIC_URL)
        .form(&[("engage", "on"), ("reason", "Meta incident"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/staff/kill-switch");
    let page = staff.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Automatic replies are stopped across BikriAgent"),
        "the banner: {page}"
    );
    let engaged: bool = sqlx::query_scalar("select not auto_send_enabled from platform_settings")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    assert!(engaged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_owner_cannot_connect_a_live_channel() {
    let (app, _fake) = crate::helpers::app_with_fake_meta().await;
    let owner = verified_owner(&app, "trial@example.com").await;
    sqlx::query("update accounts set payment_verified_at = null where email = 'trial@example.com'")
        .execute(&app.db.admin_pool().await)
        .await
        .unwrap();
    let response = owner.get(app.url("/oauth/meta/start")).send().await.unwrap();
    assert_eq!(location(&response), "/channels", "refused before Meta's screen");
    let page = owner
        .get(app.url("/channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("needs a verified payment"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_no_message_bodies_in_lists_and_opening_a_case_is_logged() {
    let app = spawn_app().await;
    let owner = verified_owner(&app, "cases@example.com").await;
    let page = owner
        .get(app.url("/sandbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token(&page).unwrap();
    let secret_text = "my parcel never came, taka ferot chai ekhoni";
    owner
        .post(app.url("/api/sandbox_say"))
        .header("origin", PUBLIC_URL)
        .form(&[("text", secret_text), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    let mut case: Option<Uuid> = None;
    for _ in 0..100 {
        case = sqlx::query_scalar("select id from review_items")
            .fetch_optional(&app.db.admin_pool().await)
            .await
            .unwrap();
        if case.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let case = case.expect("the refund request waits in review");
    let owner_id: Uuid = sqlx::query_scalar("select id from accounts where email = 'cases@example.com'")
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap();
    let (staff, staff_id) = staff_client(&app, "sadia@bikriagent.example", Role::Staff).await;
    for list in [
        format!("/staff/owners/{owner_id}"),
        "/staff/owners?email=cases".to_owned(),
        "/staff/audit".to_owned(),
    ] {
        let html = staff.get(app.url(&list)).send().await.unwrap().text().await.unwrap();
        assert!(!html.contains("taka ferot"), "{list} shows no message body");
    }
    let opened: i64 =
        sqlx::query_scalar("select count(*) from security_events where kind = 'staff_opened_review_case'")
            .fetch_one(&app.db.admin_pool().await)
            .await
            .unwrap();
    assert_eq!(opened, 0);
    let html = staff
        .get(app.url(&format!("/staff/owners/{owner_id}/cases/{case}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(secret_text), "the case shows the message: {html}");
    let actor: Option<Uuid> = sqlx::query_scalar(
        "select actor_id from security_events where kind = 'staff_opened_review_case' and account_id = $1",
    )
    .bind(owner_id)
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap();
    assert_eq!(actor, Some(staff_id), "who opened it is recorded");
}
