//! The PostgreSQL job queue and its typed jobs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bikriagent::auth::accounts::{AccountMail, JobMeta};
use bikriagent::channels::MetaDeletionJob;
use bikriagent::jobs::{self, ClaimedJob, Job, JobError, Registry};
use bikriagent::mail::SendMailJob;
use bikriagent::processing::{DecideJob, ProcessInboundJob};
use bikriagent::sending::SendJob;
use bikriagent::tenancy::OwnerId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::helpers::spawn_app;

/// A job of the tests: counts its runs, and fails with `fail` when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TestJob {
    n: u32,
    #[serde(default)]
    owner: Option<Uuid>,
    #[serde(default)]
    fail: Option<String>,
}

/// What a [`TestJob`] saw: the values it ran with.
type Runs = Arc<Mutex<Vec<TestJob>>>;

impl Job for TestJob {
    const JOB_NAME: &'static str = "test";
    type Context = Runs;

    fn owner(&self) -> Option<Uuid> {
        self.owner
    }

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("test:{}", self.n))
    }

    async fn run(&self, runs: &Runs) -> Result<(), JobError> {
        runs.lock().unwrap().push(self.clone());
        tracing::info!("test job ran");
        match &self.fail {
            Some(why) => Err(JobError::Retry(why.clone())),
            None => Ok(()),
        }
    }
}

fn test_job(n: u32) -> TestJob {
    TestJob {
        n,
        owner: None,
        fail: None,
    }
}

async fn state_of(pool: &PgPool, id: i64) -> (String, Option<String>) {
    sqlx::query_as("select state, last_error from jobs where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_never_share_a_job() {
    let app = spawn_app().await;
    app.stop(); // no in-process workers competing with the test
    let pool = app.db.admin_pool().await;
    for n in 0..20 {
        test_job(n).enqueue(&pool).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = jobs::claim(&pool, Duration::from_secs(60)).await.unwrap() {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 20);
    assert_eq!(all.len(), 20, "each job claimed exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_keys_keep_one_job() {
    let app = spawn_app().await;
    let first = test_job(1).enqueue(&app.pool).await.unwrap();
    let second = test_job(1).enqueue(&app.pool).await.unwrap();
    assert!(first.is_some());
    assert_eq!(second, None);
    let explicit = jobs::enqueue_job(&app.pool, &test_job(1), Some("other")).await.unwrap();
    assert!(explicit.is_some(), "a key of the caller's own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_job_goes_through_the_queue_and_runs_with_its_own_value() {
    let app = spawn_app().await;
    app.stop();
    let pool = bikriagent::db::connect_app_pool(&app.db.url, 2).await.unwrap();
    let owner = Uuid::new_v4();
    let job = TestJob {
        n: 7,
        owner: Some(owner),
        fail: None,
    };
    let id = job.enqueue(&pool).await.unwrap().unwrap();
    let (kind, payload, dedupe): (String, Value, Option<String>) =
        sqlx::query_as("select kind, payload, dedupe_key from jobs where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(kind, "test");
    assert_eq!(payload, json!({ "n": 7, "owner": owner, "fail": null }));
    assert_eq!(dedupe.as_deref(), Some("test:7"));

    let runs = Runs::default();
    let registry = Registry::new().register::<TestJob>(runs.clone());
    let claimed = jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().unwrap();
    registry.run_one(&pool, claimed).await.unwrap();
    assert_eq!(*runs.lock().unwrap(), [job]);
    assert_eq!(state_of(&pool, id).await, ("done".to_owned(), None));

    // Later, by its delay.
    let later = test_job(8)
        .enqueue_after(&pool, Duration::from_secs(3600))
        .await
        .unwrap()
        .unwrap();
    assert!(
        jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().is_none(),
        "job {later} waits for its time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_parse_fails_at_once_and_says_why() {
    let app = spawn_app().await;
    app.stop();
    let pool = bikriagent::db::connect_app_pool(&app.db.url, 2).await.unwrap();
    let id: i64 = sqlx::query_scalar("insert into jobs (kind, payload) values ('test', $1) returning id")
        .bind(json!({ "n": "seven" }))
        .fetch_one(&pool)
        .await
        .unwrap();
    let runs = Runs::default();
    let registry = Registry::new().register::<TestJob>(runs.clone());
    let claimed = jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(claimed.attempts, 1);
    registry.run_one(&pool, claimed).await.unwrap();
    let (state, error) = state_of(&pool, id).await;
    assert_eq!(state, "failed", "permanent on the first attempt");
    let error = error.unwrap();
    assert!(
        error.starts_with("permanent: the payload of a test job does not parse: invalid type: string \"seven\""),
        "{error}"
    );
    assert!(runs.lock().unwrap().is_empty(), "never ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_with_backoff_then_given_up() {
    let app = spawn_app().await;
    app.stop();
    let pool = bikriagent::db::connect_app_pool(&app.db.url, 2).await.unwrap();
    let flaky = TestJob {
        n: 1,
        owner: None,
        fail: Some("upstream 503".into()),
    };
    let id = flaky.enqueue(&pool).await.unwrap().unwrap();
    sqlx::query("update jobs set max_attempts = 2 where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let registry = Registry::new().register::<TestJob>(Runs::default());

    let job = jobs::claim(&pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("claimable");
    registry.run_one(&pool, job).await.unwrap();
    let (state, run_in, error): (String, f64, Option<String>) =
        sqlx::query_as("select state, extract(epoch from run_at - now())::float8, last_error from jobs where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "queued");
    assert!(run_in > 1.0, "backed off, runs in {run_in}s");
    assert_eq!(error.as_deref(), Some("retryable: upstream 503"));
    assert!(
        jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().is_none(),
        "not before its time"
    );

    sqlx::query("update jobs set run_at = now() where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let job = jobs::claim(&pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(job.attempts, 2);
    registry.run_one(&pool, job).await.unwrap();
    assert_eq!(state_of(&pool, id).await.0, "failed", "attempts used up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_lets_another_worker_take_the_job() {
    let app = spawn_app().await;
    app.stop();
    let pool = bikriagent::db::connect_app_pool(&app.db.url, 2).await.unwrap();
    let id = test_job(1).enqueue(&pool).await.unwrap().unwrap();
    let crashed = jobs::claim(&pool, Duration::from_millis(200)).await.unwrap().unwrap();
    assert_eq!(crashed.id, id);
    assert!(
        jobs::claim(&pool, Duration::from_secs(60)).await.unwrap().is_none(),
        "leased"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let retaken = jobs::claim(&pool, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("lease expired");
    assert_eq!(retaken.id, id);
    assert_eq!(retaken.attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_workers_run_jobs_and_unknown_kinds_fail_permanently() {
    let app = spawn_app().await;
    let id: i64 = sqlx::query_scalar("insert into jobs (kind) values ('no-such-kind') returning id")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut state = (String::new(), None);
    for _ in 0..100 {
        state = state_of(&app.pool, id).await;
        if state.0 == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        state,
        (
            "failed".to_owned(),
            Some("permanent: no handler for job kind no-such-kind".to_owned())
        )
    );
}

/// The stored kinds and payloads of every job type are those earlier
/// versions queued, so jobs waiting in a database at an upgrade still run.
#[test]
fn job_kinds_and_payloads_keep_their_stored_form() {
    fn stored<J: Job + PartialEq + std::fmt::Debug>(job: &J, kind: &str, payload: Value, dedupe: Option<&str>) {
        assert_eq!(J::JOB_NAME, kind);
        assert_eq!(serde_json::to_value(job).unwrap(), payload, "{kind}");
        assert_eq!(
            &serde_json::from_value::<J>(payload).unwrap(),
            job,
            "{kind} reads its old payload"
        );
        assert_eq!(job.dedupe_key().as_deref(), dedupe, "{kind}");
    }
    let (owner, id) = (Uuid::new_v4(), Uuid::new_v4());
    stored(
        &ProcessInboundJob { id },
        "process_inbound",
        json!({ "id": id }),
        Some(&format!("inbound:{id}")),
    );
    stored(
        &DecideJob {
            owner: OwnerId::from_verified(owner),
            message: id,
        },
        "decide_message",
        json!({ "owner": owner, "message": id }),
        Some(&format!("decide:{id}")),
    );
    stored(
        &SendJob {
            owner: OwnerId::from_verified(owner),
            send: id,
        },
        "send_reply",
        json!({ "owner": owner, "send": id }),
        Some(&format!("send:{id}")),
    );
    stored(
        &SendMailJob { id: 42 },
        "send_mail",
        json!({ "id": 42 }),
        Some("mail:42"),
    );
    stored(
        &MetaDeletionJob { code: "abc".into() },
        "meta_data_deletion",
        json!({ "code": "abc" }),
        Some("meta-deletion:abc"),
    );
    stored(
        &AccountMail::VerifyEmail {
            account: owner,
            meta: JobMeta {
                ip: Some("203.0.113.9".into()),
                user_agent: None,
            },
        },
        "account_mail",
        json!({ "mail": "verify_email", "account": owner, "meta": { "ip": "203.0.113.9", "user_agent": null } }),
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_registers_every_job_kind() {
    let app = spawn_app().await;
    app.stop();
    let config = Arc::new(bikriagent_server::config::Config::from_vars(app.env.clone()).unwrap());
    let pipeline = bikriagent_server::startup::pipeline(&app.pool, &config, Arc::new(app.clock.clone()));
    let registry = bikriagent_server::startup::job_registry(&app.pool, &config, &pipeline);
    assert_eq!(
        registry.kinds(),
        [
            "account_mail",
            "decide_message",
            "meta_data_deletion",
            "process_inbound",
            "send_mail",
            "send_reply"
        ]
    );
}

/// Span fields seen by a subscriber: span name → field → value.
type Seen = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// Keeps the fields of every span, and which span each event was logged in.
struct SpanFields(Seen);

impl<S> tracing_subscriber::Layer<S> for SpanFields
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<BTreeMap<String, String>>()
        {
            values.record(&mut Fields(fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(span) = ctx.event_span(event) {
            let mut message = BTreeMap::new();
            event.record(&mut Fields(&mut message));
            let fields = span
                .extensions()
                .get::<BTreeMap<String, String>>()
                .cloned()
                .unwrap_or_default();
            let line = message.get("message").cloned().unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push((format!("{}: {line}", span.name()), fields));
        }
    }
}

/// Every line a job logs carries its id, kind, attempt and owner.
#[tokio::test(flavor = "current_thread")]
async fn a_job_runs_in_a_span_with_its_id_kind_and_owner() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let seen = Seen::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(SpanFields(seen.clone())));
    let registry = Registry::new().register::<TestJob>(Runs::default());
    let owner = Uuid::new_v4();
    let job = |id: i64, payload: Value| ClaimedJob {
        id,
        kind: "test".into(),
        payload,
        attempts: 1,
        max_attempts: 10,
    };
    let with_owner = job(11, json!({ "n": 1, "owner": owner }));
    registry
        .run(&with_owner)
        .instrument(jobs::job_span(&with_owner))
        .await
        .unwrap();
    let without = job(12, json!({ "n": 2 }));
    registry
        .run(&without)
        .instrument(jobs::job_span(&without))
        .await
        .unwrap();
    let bad = job(13, json!({ "n": -1 }));
    let error = registry.run(&bad).instrument(jobs::job_span(&bad)).await.unwrap_err();
    assert!(matches!(error, JobError::Permanent(_)), "{error}");

    let seen = seen.lock().unwrap().clone();
    let field = |fields: &BTreeMap<String, String>, name: &str| fields.get(name).cloned();
    assert_eq!(seen.len(), 2, "one line from each job that ran: {seen:?}");
    assert_eq!(seen[0].0, "job: test job ran");
    assert_eq!(field(&seen[0].1, "job_id").as_deref(), Some("11"));
    assert_eq!(field(&seen[0].1, "kind").as_deref(), Some("test"));
    assert_eq!(field(&seen[0].1, "attempt").as_deref(), Some("1"));
    assert_eq!(field(&seen[0].1, "owner"), Some(owner.to_string()));
    assert_eq!(field(&seen[1].1, "job_id").as_deref(), Some("12"));
    assert_eq!(field(&seen[1].1, "owner"), None, "no owner, no field");
}

#[test]
fn backoff_grows_and_is_capped() {
    assert_eq!(jobs::backoff(1), Duration::from_secs(2));
    assert_eq!(jobs::backoff(3), Duration::from_secs(8));
    assert_eq!(jobs::backoff(30), Duration::from_secs(600));
}
