//! Who may act on whom, for every staff action that targets an account:
//! staff act on owners only, admins on staff too, nobody on an admin or on
//! themselves. The library enforces it, so it is tested there action by
//! action; one test goes through the console over HTTP.

use bikriagent::audit::RequestMeta;
use bikriagent::auth::accounts::{AuthError, Role};
use bikriagent::auth::authority::Refusal;
use bikriagent::channels::{self, ChannelError};
use bikriagent::conversations::PipelineError;
use bikriagent::owners::{self, Allowance, LimitOverrides, OwnerError, Payment};
use bikriagent::tenancy::OwnerId;
use uuid::Uuid;

use crate::helpers::{PUBLIC_URL, TestApp, csrf_token, insert_staff, location, spawn_app, staff_client};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Suspend,
    Unsuspend,
    RecordPayment,
    GrantAllowance,
    SetLimits,
    DeleteCustomerData,
    PauseChannel,
    ResumeChannel,
}

const ACTIONS: [Action; 8] = [
    Action::Suspend,
    Action::Unsuspend,
    Action::RecordPayment,
    Action::GrantAllowance,
    Action::SetLimits,
    Action::DeleteCustomerData,
    Action::PauseChannel,
    Action::ResumeChannel,
];

/// How an action ended, across the modules' error types.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Done,
    /// Refused by the hierarchy, with the message staff see.
    Refused(String),
    /// Allowed by the hierarchy, but the target is not an owner (payments,
    /// limits, customers and channels are owners' things).
    NotAnOwner,
    /// Allowed, and the action itself said no (e.g. no such customer).
    Invalid(String),
}

fn refused(refusal: Refusal) -> Outcome {
    Outcome::Refused(refusal.to_string())
}

struct World {
    app: TestApp,
    services: bikriagent_app::web::Services,
    channel: Uuid,
}

async fn act(world: &World, action: Action, actor: Uuid, target: Uuid) -> Outcome {
    let pool = &world.app.pool;
    let keys = world.app.keys();
    let accounts = &world.services.accounts;
    let meta = RequestMeta::default();
    let auth = |result: Result<(), AuthError>| match result {
        Ok(()) => Outcome::Done,
        Err(AuthError::Refused(message)) => Outcome::Refused(message),
        Err(error) => panic!("{action:?}: {error}"),
    };
    let owner = |result: Result<(), OwnerError>| match result {
        Ok(()) => Outcome::Done,
        Err(OwnerError::Refused(message)) => Outcome::Refused(message),
        Err(OwnerError::NotFound) => Outcome::NotAnOwner,
        Err(error) => panic!("{action:?}: {error}"),
    };
    let channel = |result: Result<(), ChannelError>| match result {
        Ok(()) => Outcome::Done,
        Err(ChannelError::Refused(message)) => Outcome::Refused(message),
        Err(ChannelError::NotFound) => Outcome::NotAnOwner,
        Err(error) => panic!("{action:?}: {error}"),
    };
    match action {
        Action::Suspend => auth(accounts.suspend(target, "testing the hierarchy", actor, &meta).await),
        Action::Unsuspend => auth(accounts.unsuspend(target, actor, &meta).await),
        Action::RecordPayment => {
            let payment = Payment {
                amount_minor: 150_000,
                currency: "BDT",
                method: "bkash",
                reference: "8N7A6B5C",
                stripe_event_id: None,
            };
            owner(
                owners::record_payment(pool, &keys, target, &payment, Some(actor), &meta)
                    .await
                    .map(|_| ()),
            )
        }
        Action::GrantAllowance => {
            let allowance = Allowance {
                channels: 1,
                daily_replies: 20,
            };
            owner(owners::grant_allowance(pool, target, allowance, actor, &meta).await)
        }
        Action::SetLimits => {
            let limits = LimitOverrides {
                owner_daily: Some(50),
                channel_daily: None,
            };
            owner(owners::set_limits(pool, target, limits, actor, &meta).await)
        }
        Action::DeleteCustomerData => {
            match bikriagent::deletion::staff_delete_customer(
                pool,
                &keys,
                actor,
                target,
                "8801711000000",
                "REQ-1",
                &meta,
            )
            .await
            {
                Ok(_) => Outcome::Done,
                Err(PipelineError::Refused(message)) => Outcome::Refused(message),
                Err(PipelineError::NotFound) => Outcome::NotAnOwner,
                Err(PipelineError::Invalid(message)) => Outcome::Invalid(message),
                Err(error) => panic!("{action:?}: {error}"),
            }
        }
        Action::PauseChannel => channel(
            channels::staff_pause(
                pool,
                actor,
                OwnerId::from_verified(target),
                world.channel,
                "testing the hierarchy",
                &meta,
            )
            .await,
        ),
        Action::ResumeChannel => {
            channel(channels::staff_resume(pool, actor, OwnerId::from_verified(target), world.channel, &meta).await)
        }
    }
}

async fn insert_owner(app: &TestApp) -> Uuid {
    let admin = app.db.admin_pool().await;
    let owner: Uuid = sqlx::query_scalar(
        "insert into accounts (role, email, name, password_hash, status, email_verified_at) \
         values ('owner', 'shop@example.com', 'Owner', 'x', 'active', now()) returning id",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    owner
}

/// A connected channel of `owner`, written straight to the database.
async fn insert_channel(app: &TestApp, owner: Uuid) -> Uuid {
    sqlx::query_scalar(
        "insert into channels (id, owner_id, platform, meta_id, display_name, token_enc) \
         values ($1, $2, 'messenger', '1000000009', 'Test Page', '\\x00') returning id",
    )
    .bind(Uuid::new_v4())
    .bind(owner)
    .fetch_one(&app.db.admin_pool().await)
    .await
    .unwrap()
}

async fn status(app: &TestApp, account: Uuid) -> String {
    sqlx::query_scalar("select status from accounts where id = $1")
        .bind(account)
        .fetch_one(&app.db.admin_pool().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_action_follows_the_hierarchy() {
    let app = spawn_app().await;
    let config = bikriagent_server::config::Config::from_vars(app.env.clone()).unwrap();
    let services = bikriagent_server::startup::services(&app.pool, &config, std::sync::Arc::new(app.clock.clone()));
    let staff = insert_staff(&app.db, "sadia@bikriagent.example", Role::Staff).await;
    let colleague = insert_staff(&app.db, "karim@bikriagent.example", Role::Staff).await;
    let admin = insert_staff(&app.db, "root@bikriagent.example", Role::Admin).await;
    let other_admin = insert_staff(&app.db, "root2@bikriagent.example", Role::Admin).await;
    let owner = insert_owner(&app).await;
    let channel = insert_channel(&app, owner).await;
    let world = World { app, services, channel };

    for action in ACTIONS {
        // Refused, whatever the action.
        for (actor, target, why) in [
            (staff, admin, Refusal::AdminTarget),
            (staff, colleague, Refusal::NeedsAdmin),
            (staff, staff, Refusal::Yourself),
            (admin, admin, Refusal::Yourself),
            (admin, other_admin, Refusal::AdminTarget),
            (owner, colleague, Refusal::NotStaff),
        ] {
            assert_eq!(
                act(&world, action, actor, target).await,
                refused(why),
                "{action:?}: {actor} on {target}"
            );
        }
        // An admin may act on staff: suspension means something there; the
        // rest are about owners only.
        let expected = match action {
            Action::Suspend | Action::Unsuspend => Outcome::Done,
            _ => Outcome::NotAnOwner,
        };
        assert_eq!(act(&world, action, admin, colleague).await, expected, "{action:?}");
        if action == Action::Suspend {
            assert_eq!(status(&world.app, colleague).await, "suspended");
        }
        // Staff may act on owners.
        let expected = match action {
            Action::DeleteCustomerData => Outcome::Invalid("This owner has no customer with that id.".into()),
            _ => Outcome::Done,
        };
        assert_eq!(act(&world, action, staff, owner).await, expected, "{action:?}");
    }

    // Nothing refused left a trace: admins and the acting staff member are
    // untouched, and the audit log names no refused action.
    for account in [staff, admin, other_admin] {
        assert_eq!(status(&world.app, account).await, "active");
    }
    assert_eq!(
        status(&world.app, colleague).await,
        "active",
        "suspended, then lifted by the admin"
    );
    let admin_pool = world.app.db.admin_pool().await;
    let traces: i64 = sqlx::query_scalar(
        "select count(*) from security_events where account_id = any($1) \
            and kind in ('account_suspended', 'account_unsuspended', 'payment_verified', \
                         'trial_allowance_granted', 'limits_changed')",
    )
    .bind(vec![staff, admin, other_admin])
    .fetch_one(&admin_pool)
    .await
    .unwrap();
    assert_eq!(traces, 0);
    let on_colleague: Vec<(String, Option<Uuid>)> =
        sqlx::query_as("select kind::text, actor_id from security_events where account_id = $1 order by id")
            .bind(colleague)
            .fetch_all(&admin_pool)
            .await
            .unwrap();
    assert_eq!(
        on_colleague,
        [
            ("account_suspended".to_owned(), Some(admin)),
            ("account_unsuspended".to_owned(), Some(admin))
        ],
        "only the admin acted on a staff account"
    );
    let payments: i64 = sqlx::query_scalar("select count(*) from payments where account_id <> $1")
        .bind(owner)
        .fetch_one(&admin_pool)
        .await
        .unwrap();
    assert_eq!(payments, 0, "only the owner has a payment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_console_staff_cannot_suspend_an_admin_and_an_admin_can_suspend_staff() {
    let app = spawn_app().await;
    let (staff, staff_id) = staff_client(&app, "sadia@bikriagent.example", Role::Staff).await;
    let (admin, admin_id) = staff_client(&app, "root@bikriagent.example", Role::Admin).await;
    let suspend = |client: &reqwest::Client, target: Uuid| {
        let client = client.clone();
        let page = format!("/staff/owners/{target}");
        let app = &app;
        async move {
            let html = client
                .get(app.url("/staff"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let token = csrf_token(&html).unwrap();
            let response = client
                .post(app.url("/api/staff_suspend"))
                .header("origin", PUBLIC_URL)
                .form(&[
                    ("owner_id", target.to_string().as_str()),
                    ("reason", "testing the hierarchy"),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(location(&response), page);
            client.get(app.url(&page)).send().await.unwrap().text().await.unwrap()
        }
    };

    let page = suspend(&staff, admin_id).await;
    assert!(page.contains(&Refusal::AdminTarget.to_string()), "{page}");
    assert_eq!(status(&app, admin_id).await, "active");
    assert_eq!(
        admin.get(app.url("/staff")).send().await.unwrap().status(),
        200,
        "the admin is still in"
    );

    let page = suspend(&staff, staff_id).await;
    assert!(page.contains("You cannot do this to your own account"), "{page}");
    assert_eq!(status(&app, staff_id).await, "active");

    suspend(&admin, staff_id).await;
    assert_eq!(status(&app, staff_id).await, "suspended");
    assert_eq!(
        location(&staff.get(app.url("/staff")).send().await.unwrap()),
        "/login",
        "the suspended staff member's session ended"
    );
}
