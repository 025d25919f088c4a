//! Faults under load, end to end over HTTP: PostgreSQL crashing and coming
//! back in the middle of a webhook replay, and one owner flooding past their
//! daily limits while another owner's customers keep being answered; and
//! send jobs racing for the last automatic reply a limit allows.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::net::SocketAddr;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bikriagent::audit::RequestMeta;
use bikriagent::catalog::store::{self, ProductInput};
use bikriagent::clock::SystemClock;
use bikriagent::crypto::DataKeys;
use bikriagent::meta::signature::hub_signature;
use bikriagent::owners::{self, LimitOverrides};
use bikriagent::tenancy::OwnerId;
use bikriagent_server::config::Config;
use bikriagent_server::fake_meta::{FakeMeta, FakePage, SentMessage};
use bikriagent_server::startup::{self, Application};
use rand::RngCore as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use uuid::Uuid;

use crate::helpers::{spawn_app_with, test_env};

/// The pipeline's job kinds: when none is queued or running, every message
/// has reached its final state.
const PIPELINE_JOBS: &str = "('process_inbound', 'decide_message', 'send_reply')";

// ------------------------------------------------------------ a private cluster

/// Runs PostgreSQL's binaries as the cluster's owner (`postgres` when we are root).
#[derive(Clone)]
struct PgControl {
    bindir: PathBuf,
    data: PathBuf,
    /// Where the commands write their output (the server logs into its data folder).
    log: PathBuf,
    as_root: bool,
    /// The server's settings (`pg_ctl -o`), given again at every start.
    options: String,
}

impl PgControl {
    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let mut command = self.command(program);
        // Into a file, never a pipe: the server started by pg_ctl inherits
        // these and would keep a pipe open for as long as it runs.
        let out = File::options().create(true).append(true).open(&self.log).unwrap();
        let status = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            status.success(),
            "{program} {args:?} failed: {}\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data.display().to_string();
        let log = self.data.join("server.log").display().to_string();
        let mut all = vec!["-D", data.as_str(), "-l", log.as_str(), "-w", "-t", "60"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn start(&self) {
        self.pg_ctl(&["-o", &self.options, "start"]);
    }

    /// A crash-like stop (no shutdown checkpoint, clients cut off), an
    /// outage, and a start with crash recovery. The outage outlasts the app
    /// pool's 5 s acquire timeout: a shorter one only slows requests down,
    /// because the pool keeps retrying refused connections until then.
    fn crash_and_restart(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
        std::thread::sleep(Duration::from_secs(7));
        self.start();
    }
}

/// A PostgreSQL cluster of the test's own in a temporary folder, stopped and
/// removed when dropped (also when the test panics). The fault test crashes
/// it, which the shared test server that other tests use must never see.
struct PrivateCluster {
    control: PgControl,
    root: PathBuf,
    /// The superuser's connection string to the `postgres` database.
    url: String,
}

impl PrivateCluster {
    /// Blocking: initdb and start take a second or two.
    fn start() -> Self {
        let bindir = std::env::var("BIKRI_TEST_PG_BINDIR").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned());
        let root = std::env::temp_dir().join(format!("bikri-fault-pg-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let as_root = std::fs::metadata(&root).unwrap().uid() == 0;
        let data = root.join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
        let password = {
            let mut bytes = [0u8; 18];
            rand::rng().fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        let password_file = root.join("password");
        std::fs::write(&password_file, &password).unwrap();
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_arg = data.display().to_string();
        let cluster = Self {
            control: PgControl {
                bindir: PathBuf::from(bindir),
                data: data.clone(),
                log: root.join("commands.log"),
                as_root,
                // Loopback only, sockets in the data folder, no fsync (thrown away).
                options: format!(
                    "-c listen_addresses=127.0.0.1 -p {port} -k {data_arg} -c fsync=off -c max_connections=100"
                ),
            },
            root,
            url: format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres"),
        };
        if as_root {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(&data)
                .arg(&password_file)
                .status()
                .unwrap();
            assert!(status.success(), "chown to postgres");
        }
        let pwfile = format!("--pwfile={}", password_file.display());
        cluster.control.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                &pwfile,
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        );
        std::fs::remove_file(&password_file).unwrap();
        cluster.control.start();
        cluster
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.control.data.join("postmaster.pid").exists() {
            let data = self.control.data.display().to_string();
            let _ = self
                .control
                .command("pg_ctl")
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The real application serving against the private cluster, stopped when dropped.
struct RunningApp {
    addr: SocketAddr,
    pool: PgPool,
    keys: DataKeys,
    stop: watch::Sender<bool>,
}

impl RunningApp {
    async fn start(env: Vec<(String, String)>) -> Self {
        let config = Config::from_vars(env).expect("test config is valid");
        let keys = startup::data_keys(&config);
        let app = Application::build_with_clock(config, Arc::new(SystemClock))
            .await
            .expect("the app builds");
        let (addr, pool) = (app.local_addr(), app.pool().clone());
        let (stop, stop_rx) = watch::channel(false);
        tokio::spawn(app.run_until(stop_rx));
        Self { addr, pool, keys, stop }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

// ------------------------------------------------------------ shops and deliveries

fn page(id: &str, name: &str) -> FakePage {
    FakePage {
        id: id.to_owned(),
        name: name.to_owned(),
        token: format!("EAAGfakePageToken{id}"),
        instagram: None,
    }
}

/// A product and how the engine writes its price.
struct Product {
    sku: &'static str,
    name: &'static str,
    price: &'static str,
    shown: &'static str,
}

/// A payment-verified owner with `catalog` and `page` connected through the
/// real connect path (sealed token, subscription at the fake).
async fn verified_shop(
    admin: &PgPool,
    pool: &PgPool,
    keys: &DataKeys,
    fake: &FakeMeta,
    email: &str,
    page: &FakePage,
    catalog: &[Product],
) -> OwnerId {
    let owner: Uuid = sqlx::query_scalar(
        "insert into accounts (email, name, password_hash, status, email_verified_at, payment_verified_at) \
         values ($1, 'Owner', 'x', 'active', now(), now()) returning id",
    )
    .bind(email)
    .fetch_one(admin)
    .await
    .unwrap();
    sqlx::query("insert into business_profiles (owner_id, name) values ($1, $2)")
        .bind(owner)
        .bind(&page.name)
        .execute(admin)
        .await
        .unwrap();
    let owner = OwnerId::from_verified(owner);
    for product in catalog {
        store::create_product(
            pool,
            owner,
            &ProductInput {
                sku: product.sku.into(),
                name: product.name.into(),
                price: product.price.into(),
                stock: "500".into(),
                active: true,
                ..ProductInput::default()
            },
        )
        .await
        .unwrap();
    }
    crate::pipeline::connect_messenger(pool, keys, fake, owner, &page.id, &page.token, &page.name).await;
    owner
}

/// One customer message to `page`, as Meta delivers it.
struct Delivery {
    mid: String,
    sender: String,
    body: Vec<u8>,
}

fn delivery(page: &str, mid: String, sender: String, text: &str) -> Delivery {
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let body = crate::pipeline::messenger_to(page, &mid, &sender, text, now_ms);
    Delivery { mid, sender, body }
}

/// What the replay saw.
#[derive(Default)]
struct ReplayStats {
    acknowledged: AtomicUsize,
    /// Answers other than 200, and requests that got no answer at all.
    refused: AtomicUsize,
}

/// Posts every delivery to the webhook with `concurrency` senders, and like
/// Meta retries each one (short backoff) until it is answered 200.
async fn replay(url: String, deliveries: Arc<Vec<Delivery>>, concurrency: usize, stats: Arc<ReplayStats>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..concurrency {
        let (client, url, deliveries, stats, next) = (
            client.clone(),
            url.clone(),
            deliveries.clone(),
            stats.clone(),
            next.clone(),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(delivery) = deliveries.get(i) else { return };
                let signature = hub_signature(b"test-app-secret", &delivery.body);
                let deadline = Instant::now() + Duration::from_secs(90);
                let mut backoff = Duration::from_millis(50);
                loop {
                    let answer = client
                        .post(&url)
                        .header("x-hub-signature-256", &signature)
                        .body(delivery.body.clone())
                        .send()
                        .await;
                    if answer.as_ref().is_ok_and(|r| r.status() == 200) {
                        break;
                    }
                    stats.refused.fetch_add(1, Ordering::SeqCst);
                    assert!(
                        Instant::now() < deadline,
                        "delivery {} was never acknowledged: last answer {:?}",
                        delivery.mid,
                        answer.map(|r| r.status())
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                stats.acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
}

/// Waits until all `expected` inbound messages whose Meta id starts with
/// `prefix` are stored and processed and no pipeline job is left to run.
async fn wait_until_settled(admin: &PgPool, prefix: &str, expected: i64, within: Duration) {
    let deadline = Instant::now() + within;
    let sql = format!(
        "select (select count(*) from inbound_messages where provider_message_id like $1 || '%'), \
                (select count(*) from inbound_messages where provider_message_id like $1 || '%' and state <> 'processed'), \
                (select count(*) from jobs where kind in {PIPELINE_JOBS} and state in ('queued', 'running'))"
    );
    let mut last = None;
    loop {
        // Errors are possible while the server recovers: poll again.
        if let Ok(counts) = sqlx::query_as::<_, (i64, i64, i64)>(&sql)
            .bind(prefix)
            .fetch_one(admin)
            .await
        {
            if counts.0 == expected && counts.1 == 0 && counts.2 == 0 {
                return;
            }
            last = Some(counts);
        }
        assert!(
            Instant::now() < deadline,
            "not settled within {within:?}: (inbound, unprocessed, pipeline jobs left) = {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn text_of(sent: &SentMessage) -> &str {
    sent.body
        .pointer("/message/text")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
}

fn recipient_of(sent: &SentMessage) -> &str {
    sent.body
        .pointer("/recipient/id")
        .and_then(|t| t.as_str())
        .unwrap_or_default()
}

async fn admin_pool(url: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .unwrap()
}

const CATALOG: [Product; 3] = [
    Product {
        sku: "PANJABI-1",
        name: "White Panjabi",
        price: "2200",
        shown: "2,200",
    },
    Product {
        sku: "SAREE-1",
        name: "Red Cotton Saree",
        price: "1250",
        shown: "1,250",
    },
    Product {
        sku: "KAMEEZ-1",
        name: "Green Salwar Kameez",
        price: "1875",
        shown: "1,875",
    },
];

// ------------------------------------------------------------ the tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crashing_mid_replay_loses_no_message_and_sends_no_reply_twice() {
    const MESSAGES: usize = 1000;
    const CRASH_AFTER: usize = 300;
    let cluster = tokio::task::spawn_blocking(PrivateCluster::start).await.unwrap();
    let fake = FakeMeta::spawn(0, "1234567890", "test-app-secret").await.unwrap();
    let shop_page = page("1000000001", "Rahima Fashion House");
    fake.set_pages(vec![shop_page.clone()]);
    let mut env = test_env(&cluster.url);
    env.extend(
        [
            ("META_GRAPH_URL", fake.graph_url()),
            ("BIKRI_WORKERS", "4".to_owned()),
            ("BIKRI_DB_MAX_CONNECTIONS", "20".to_owned()),
            // High enough that every one of the messages may be answered.
            ("BIKRI_DAILY_OWNER_LIMIT", "5000".to_owned()),
            ("BIKRI_DAILY_CHANNEL_LIMIT", "5000".to_owned()),
            ("BIKRI_CONVERSATION_PER_MINUTE", "60".to_owned()),
            ("BIKRI_BURST_QUIET_MS", "0".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let app = RunningApp::start(env).await;
    let admin = admin_pool(&cluster.url).await;
    verified_shop(
        &admin,
        &app.pool,
        &app.keys,
        &fake,
        "crash@example.com",
        &shop_page,
        &CATALOG,
    )
    .await;
    let started_before: time::OffsetDateTime = sqlx::query_scalar("select pg_postmaster_start_time()")
        .fetch_one(&admin)
        .await
        .unwrap();
    admin.close().await;

    // One message per customer: no conversation has a second message that
    // could fold into a burst, so every message is owed its own reply.
    let deliveries: Arc<Vec<Delivery>> = Arc::new(
        (0..MESSAGES)
            .map(|i| {
                let product = &CATALOG[i % CATALOG.len()];
                let text = format!("{} price?", product.name.to_lowercase());
                delivery(&shop_page.id, format!("m_crash_{i:04}"), format!("77{i:06}"), &text)
            })
            .collect(),
    );
    let stats = Arc::new(ReplayStats::default());
    let crash = {
        let (stats, control) = (stats.clone(), cluster.control.clone());
        tokio::spawn(async move {
            while stats.acknowledged.load(Ordering::SeqCst) < CRASH_AFTER {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::task::spawn_blocking(move || control.crash_and_restart())
                .await
                .unwrap();
        })
    };
    replay(
        format!("http://{}/webhooks/meta", app.addr),
        deliveries.clone(),
        8,
        stats.clone(),
    )
    .await;
    crash.await.unwrap();
    assert_eq!(stats.acknowledged.load(Ordering::SeqCst), MESSAGES);

    let admin = admin_pool(&cluster.url).await;
    let started_after: time::OffsetDateTime = sqlx::query_scalar("select pg_postmaster_start_time()")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(started_after > started_before, "PostgreSQL really restarted");
    let refused = stats.refused.load(Ordering::SeqCst);
    assert!(
        refused > 0,
        "the webhook refused or dropped deliveries during the crash, which the replay retried"
    );
    wait_until_settled(&admin, "m_crash_", MESSAGES as i64, Duration::from_secs(150)).await;

    // Zero lost, zero duplicated: one inbound row and one recorded customer
    // message per Meta message id.
    let recorded: Vec<(String, i64)> = sqlx::query_as(
        "select i.provider_message_id, count(m.id) from inbound_messages i \
           left join messages m on m.inbound_id = i.id and m.direction = 'in' \
          where i.provider_message_id like 'm_crash_%' group by i.id, i.provider_message_id",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(recorded.len(), MESSAGES, "one inbound row per message id");
    let ids: HashSet<&str> = recorded.iter().map(|(mid, _)| mid.as_str()).collect();
    assert_eq!(ids.len(), MESSAGES, "no message id stored twice");
    assert!(
        recorded.iter().all(|(_, messages)| *messages == 1),
        "each message is recorded once in its conversation: {:?}",
        recorded.iter().filter(|(_, n)| *n != 1).collect::<Vec<_>>()
    );

    // Each message's outcome, from the send the agent decided for it and the
    // review items opened for it.
    let outcomes: Vec<(String, Option<String>, Vec<String>)> = sqlx::query_as(
        "select i.provider_message_id, s.state::text, \
                coalesce(array_agg(r.reason::text order by r.reason::text) filter (where r.id is not null), '{}') \
           from inbound_messages i \
           join messages m on m.inbound_id = i.id \
           left join outbound_sends s on s.reply_to = m.id \
           left join review_items r on r.message_id = m.id \
          where i.provider_message_id like 'm_crash_%' \
          group by i.provider_message_id, s.id, s.state",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(outcomes.len(), MESSAGES, "at most one send was decided per message");
    let sent = fake.sent();
    let mut replies: HashMap<&str, Vec<&SentMessage>> = HashMap::new();
    for message in &sent {
        replies.entry(recipient_of(message)).or_default().push(message);
    }
    let senders: HashSet<&str> = deliveries.iter().map(|d| d.sender.as_str()).collect();
    assert!(
        replies.keys().all(|recipient| senders.contains(recipient)),
        "every reply went to one of the customers"
    );
    let price_asked: HashMap<&str, &str> = deliveries
        .iter()
        .enumerate()
        .map(|(i, d)| (d.sender.as_str(), CATALOG[i % CATALOG.len()].shown))
        .collect();
    let (mut answered, mut uncertain, mut reviewed, mut uncertain_delivered) = (0, 0, 0, 0);
    // Senders are stored only as keyed hashes: the test knows who sent what.
    let sender_of: HashMap<&str, &str> = deliveries.iter().map(|d| (d.mid.as_str(), d.sender.as_str())).collect();
    for (mid, state, reviews) in &outcomes {
        let sender = sender_of[mid.as_str()];
        let got = replies.get(sender).map_or(0, Vec::len);
        assert!(got <= 1, "{mid}: {got} replies to one message");
        match (state.as_deref(), reviews.as_slice()) {
            (Some("sent"), []) => {
                assert_eq!(got, 1, "{mid}: recorded as sent, so Meta has it");
                let reply = replies[sender][0];
                assert_eq!(reply.sender_id, shop_page.id);
                assert_eq!(reply.token, shop_page.token);
                let text = text_of(reply);
                assert!(
                    text.contains(price_asked[sender]),
                    "{mid}: the reply answers this message's question: {text}"
                );
                answered += 1;
            }
            // Interrupted between the call to Meta and recording it: the
            // owner checks, nothing is sent again.
            (Some("uncertain"), [reason]) if reason == "send_uncertain" => {
                uncertain += 1;
                uncertain_delivered += got;
            }
            (None, [_]) => {
                assert_eq!(got, 0, "{mid}: sent to review, not to the customer");
                reviewed += 1;
            }
            other => panic!("{mid}: not exactly one outcome: {other:?}"),
        }
    }
    assert_eq!(answered + uncertain + reviewed, MESSAGES);
    assert_eq!(
        sent.len(),
        answered + uncertain_delivered,
        "Meta has no reply besides the recorded outcomes"
    );
    assert!(
        answered >= MESSAGES * 95 / 100,
        "most messages were answered: {answered} answered, {uncertain} uncertain, {reviewed} reviewed"
    );
    let retried_jobs: i64 = sqlx::query_scalar(&format!(
        "select count(*) from jobs where kind in {PIPELINE_JOBS} and attempts > 1"
    ))
    .fetch_one(&admin)
    .await
    .unwrap();
    eprintln!(
        "crash test: {refused} deliveries refused and retried, {retried_jobs} jobs retried; {answered} answered, \
         {uncertain} uncertain, {reviewed} reviewed"
    );
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_owner_flooding_past_their_limits_does_not_take_another_owners_replies() {
    const FLOOD_LIMIT: usize = 20;
    const FLOOD: usize = FLOOD_LIMIT * 10;
    const NEIGHBOUR: usize = 40;
    let fake = FakeMeta::spawn(0, "1234567890", "test-app-secret").await.unwrap();
    let (flood_page, quiet_page) = (page("1000000001", "Flood Shop"), page("1000000002", "Quiet Shop"));
    fake.set_pages(vec![flood_page.clone(), quiet_page.clone()]);
    let graph = fake.graph_url();
    let app = spawn_app_with(move |env| {
        env.extend(
            [
                ("META_GRAPH_URL", graph),
                // Workers racing for the same owner's sends.
                ("BIKRI_WORKERS", "8".to_owned()),
                ("BIKRI_DB_MAX_CONNECTIONS", "16".to_owned()),
                // The platform's daily limits, which the flooding owner has.
                ("BIKRI_DAILY_OWNER_LIMIT", FLOOD_LIMIT.to_string()),
                ("BIKRI_DAILY_CHANNEL_LIMIT", FLOOD_LIMIT.to_string()),
                ("BIKRI_CONVERSATION_PER_MINUTE", "60".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
    })
    .await;
    let keys = startup::data_keys(&Config::from_vars(app.env.clone()).unwrap());
    let admin = app.db.admin_pool().await;
    let flood_catalog = [Product {
        sku: "PANJABI-1",
        name: "White Panjabi",
        price: "2200",
        shown: "2,200",
    }];
    let quiet_catalog = [Product {
        sku: "LUNGI-1",
        name: "Blue Check Lungi",
        price: "640",
        shown: "640",
    }];
    let flooder = verified_shop(
        &admin,
        &app.pool,
        &keys,
        &fake,
        "flood@example.com",
        &flood_page,
        &flood_catalog,
    )
    .await;
    let neighbour = verified_shop(
        &admin,
        &app.pool,
        &keys,
        &fake,
        "quiet@example.com",
        &quiet_page,
        &quiet_catalog,
    )
    .await;
    // Staff raised the neighbour's limits above the platform's.
    let staff = crate::helpers::insert_staff(
        &app.db,
        "sadia@bikriagent.example",
        bikriagent::auth::accounts::Role::Staff,
    )
    .await;
    owners::set_limits(
        &app.pool,
        neighbour.as_uuid(),
        LimitOverrides {
            owner_daily: Some(1000),
            channel_daily: Some(1000),
        },
        staff,
        &RequestMeta::default(),
    )
    .await
    .unwrap();

    // Every fifth delivery is the neighbour's, from the start of the flood to its end.
    let mut deliveries = Vec::new();
    let (mut flood_sent, mut quiet_sent) = (0, 0);
    while flood_sent < FLOOD || quiet_sent < NEIGHBOUR {
        let quiet_turn = quiet_sent < NEIGHBOUR && (deliveries.len() % 5 == 4 || flood_sent == FLOOD);
        if quiet_turn {
            deliveries.push(delivery(
                &quiet_page.id,
                format!("m_quiet_{quiet_sent:03}"),
                format!("66{quiet_sent:06}"),
                "blue check lungi dam koto?",
            ));
            quiet_sent += 1;
        } else {
            deliveries.push(delivery(
                &flood_page.id,
                format!("m_flood_{flood_sent:03}"),
                format!("55{flood_sent:06}"),
                "white panjabi price?",
            ));
            flood_sent += 1;
        }
    }
    let deliveries = Arc::new(deliveries);
    let stats = Arc::new(ReplayStats::default());
    replay(app.url("/webhooks/meta"), deliveries.clone(), 4, stats.clone()).await;
    assert_eq!(
        stats.refused.load(Ordering::SeqCst),
        0,
        "every delivery was stored at once"
    );
    wait_until_settled(&admin, "m_", (FLOOD + NEIGHBOUR) as i64, Duration::from_secs(120)).await;

    // The owners' own numbers.
    let per_owner = |owner: OwnerId| {
        let admin = admin.clone();
        async move {
            sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
                "select (select count(*) from outbound_sends where owner_id = $1 and author = 'agent' and state = 'sent'), \
                        (select count(*) from outbound_sends where owner_id = $1 and state = 'blocked' \
                                                               and blocked_by in ('owner_daily_limit', 'channel_daily_limit')), \
                        (select count(*) from outbound_sends where owner_id = $1), \
                        (select count(*) from review_items where owner_id = $1 and reason = 'gate'), \
                        (select count(*) from review_items where owner_id = $1)",
            )
            .bind(owner.as_uuid())
            .fetch_one(&admin)
            .await
            .unwrap()
        }
    };
    let (sent, blocked, sends, gated, reviews) = per_owner(flooder).await;
    assert_eq!(
        sent, FLOOD_LIMIT as i64,
        "the flooding owner gets exactly their limit of automatic replies"
    );
    assert_eq!(blocked, (FLOOD - FLOOD_LIMIT) as i64, "the rest were held by the limit");
    assert_eq!(sends, FLOOD as i64, "one decided send per message");
    assert_eq!(
        (gated, reviews),
        (blocked, blocked),
        "every held reply waits in the flooding owner's review queue"
    );
    let (sent, blocked, sends, _, reviews) = per_owner(neighbour).await;
    assert_eq!(
        (sent, blocked, sends, reviews),
        (NEIGHBOUR as i64, 0, NEIGHBOUR as i64, 0),
        "the neighbour's customers were all answered automatically"
    );
    let notices: Vec<String> = sqlx::query_scalar(
        "select lower(to_address) from mail_outbox where kind = 'daily_limit_reached' order by to_address",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(notices, ["flood@example.com"], "only the flooding owner is told, once");

    // What Meta received: each page's replies with its own token, to its own
    // customers, about its own catalog.
    let customers = |prefix: &str| -> HashSet<String> {
        deliveries
            .iter()
            .filter(|d| d.sender.starts_with(prefix))
            .map(|d| d.sender.clone())
            .collect()
    };
    let (flood_customers, quiet_customers) = (customers("55"), customers("66"));
    let sent = fake.sent();
    let on = |page: &FakePage| sent.iter().filter(|m| m.sender_id == page.id).collect::<Vec<_>>();
    let (flood_replies, quiet_replies) = (on(&flood_page), on(&quiet_page));
    assert_eq!(
        flood_replies.len() + quiet_replies.len(),
        sent.len(),
        "no reply from any other sender"
    );
    assert_eq!(
        flood_replies.len(),
        FLOOD_LIMIT,
        "Meta got exactly the limit from the flooding page"
    );
    assert_eq!(quiet_replies.len(), NEIGHBOUR);
    for (replies, page, customers, shown, other) in [
        (&flood_replies, &flood_page, &flood_customers, "2,200", "lungi"),
        (&quiet_replies, &quiet_page, &quiet_customers, "640", "panjabi"),
    ] {
        let recipients: HashSet<&str> = replies.iter().map(|m| recipient_of(m)).collect();
        assert_eq!(recipients.len(), replies.len(), "one reply per customer");
        for reply in replies {
            assert_eq!(reply.token, page.token, "sent with the page's own token");
            assert!(
                customers.contains(recipient_of(reply)),
                "{} replied to {}, who never wrote to it",
                page.name,
                recipient_of(reply)
            );
            let text = text_of(reply).to_lowercase();
            assert!(text.contains(shown) && !text.contains(other), "{}: {text}", page.name);
        }
    }
    let quiet_recipients: HashSet<String> = quiet_replies.iter().map(|m| recipient_of(m).to_owned()).collect();
    assert_eq!(
        quiet_recipients, quiet_customers,
        "every neighbour's customer got their reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_racing_for_the_last_reply_of_the_day_send_it_once() {
    const RACERS: usize = 8;
    let shop = crate::pipeline::shop_with(|env| {
        env.push(("BIKRI_DAILY_OWNER_LIMIT".into(), "1".into()));
        env.push(("BIKRI_DAILY_CHANNEL_LIMIT".into(), "1".into()));
    })
    .await;
    // Replies to eight customers, decided and not yet sent: eight send jobs
    // that workers could pick up at the same moment.
    let mut sends = Vec::new();
    for i in 0..RACERS {
        let body = crate::pipeline::messenger(
            &format!("m_race_{i}"),
            &format!("88{i:06}"),
            "saree dam koto?",
            shop.now_ms(),
        );
        shop.deliver(&body).await;
    }
    let inbound: Vec<Uuid> = sqlx::query_scalar("select id from inbound_messages")
        .fetch_all(&shop.db.admin_pool().await)
        .await
        .unwrap();
    for id in inbound {
        let message = shop.pipeline.process_inbound(id).await.unwrap().unwrap();
        shop.pipeline.decide(shop.owner, message).await.unwrap();
        let send: Uuid = sqlx::query_scalar("select id from outbound_sends where reply_to = $1")
            .bind(message)
            .fetch_one(&shop.db.admin_pool().await)
            .await
            .unwrap();
        sends.push(send);
    }
    let racers: Vec<_> = sends
        .into_iter()
        .map(|send| {
            let (pipeline, owner) = (shop.pipeline.clone(), shop.owner);
            tokio::spawn(async move { pipeline.send(owner, send).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    let sent = outcomes
        .iter()
        .filter(|o| matches!(o, bikriagent::sending::SendOutcome::Sent { .. }))
        .count();
    assert_eq!(sent, 1, "one reply within a daily limit of one: {outcomes:?}");
    assert_eq!(shop.fake.sent().len(), 1, "Meta got one reply");
    assert_eq!(
        shop.scalar::<i64>("select count(*) from outbound_sends where blocked_by = 'owner_daily_limit'")
            .await,
        (RACERS - 1) as i64,
        "the others were held by the limit"
    );
}
